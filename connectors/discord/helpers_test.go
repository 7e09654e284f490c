package discord_test

import (
	"bytes"
	"crypto/ed25519"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/rogpeppe/go-internal/txtar"

	"github.com/switchboard-dev/switchboard/connectors"
	"github.com/switchboard-dev/switchboard/connectors/discord"
	"github.com/switchboard-dev/switchboard/connectors/discord/discordfake"
)

// The T9 key pair (RFC 8032 section 7.1, TEST 1).
const (
	seedHex   = "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60"
	publicHex = "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a"
	appID     = "1197048256485963936"
	testdata  = "../../testdata/connectors/discord"
)

var private = func() ed25519.PrivateKey {
	seed, _ := hex.DecodeString(seedHex)
	return ed25519.NewKeyFromSeed(seed)
}()

// update rewrites the want sections of the recorded payloads.
var update = os.Getenv("FLOW_UPDATE") != ""

// signed is an interaction request as Discord makes it.
func signed(body []byte, ts string) *connectors.Request {
	h := http.Header{}
	h.Set("Content-Type", "application/json")
	h.Set(discord.HeaderTimestamp, ts)
	h.Set(discord.HeaderSignature, hex.EncodeToString(ed25519.Sign(private, append([]byte(ts), body...))))
	return &connectors.Request{Method: http.MethodPost, URL: "https://switchboard.test/v1/webhooks/discord/default",
		Path: "/v1/webhooks/discord/default", Header: h, Body: body}
}

func config(api, gateway string) connectors.Config {
	return connectors.Config{"bot_token": discordfake.Token, "public_key": publicHex, "application_id": appID,
		"api_url": api, "gateway_url": gateway}
}

// newConn builds an instance through a registry of its own.
func newConn(t testing.TB, cfg connectors.Config, res connectors.Resources) *discord.Conn {
	t.Helper()
	reg := connectors.NewRegistry()
	reg.MustRegister(discord.Spec(), discord.New)
	c, err := reg.New(discord.Name, cfg, res)
	if err != nil {
		t.Fatal(err)
	}
	return c.(*discord.Conn)
}

func offline(t testing.TB) *discord.Conn {
	return newConn(t, config("http://127.0.0.1:1/api/v10", "ws://127.0.0.1:1/gateway"), connectors.Resources{})
}

type payload struct {
	name string
	file string
	ar   *txtar.Archive
}

func (p payload) section(name string) []byte {
	for _, f := range p.ar.Files {
		if f.Name == name {
			return bytes.TrimSpace(f.Data)
		}
	}
	return nil
}

func payloads(t testing.TB, dir string) []payload {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(testdata, dir, "*.txtar"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no payloads in %s: %v", dir, err)
	}
	var ps []payload
	for _, f := range files {
		ar, err := txtar.ParseFile(f)
		if err != nil {
			t.Fatal(err)
		}
		ps = append(ps, payload{name: strings.TrimSuffix(filepath.Base(f), ".txtar"), file: f, ar: ar})
	}
	return ps
}

// checkWant compares got, as indented JSON, with the payload's want
// section, or writes it there under FLOW_UPDATE.
func checkWant(t *testing.T, p payload, got any) {
	t.Helper()
	data, err := json.MarshalIndent(got, "", " ")
	if err != nil {
		t.Fatal(err)
	}
	if update {
		var files []txtar.File
		for _, f := range p.ar.Files {
			if f.Name != "want" {
				files = append(files, f)
			}
		}
		p.ar.Files = append(files, txtar.File{Name: "want", Data: append(data, '\n')})
		if err := os.WriteFile(p.file, txtar.Format(p.ar), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	if want := p.section("want"); !bytes.Equal(bytes.TrimSpace(data), want) {
		t.Errorf("%s: got\n%s\nwant\n%s", p.name, data, want)
	}
}
