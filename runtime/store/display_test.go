package store_test

import (
	"encoding/json"
	"testing"

	"github.com/switchboard-dev/switchboard/runtime/store"
)

func TestDisplayName(t *testing.T) {
	for _, c := range []struct {
		w    store.Worker
		want string
	}{
		{store.Worker{ID: "w1", Name: "Ana L.", Attributes: json.RawMessage(`{"name":"Ana"}`)}, "Ana"},
		{store.Worker{ID: "w1", Name: "Ana L.", Attributes: json.RawMessage(`{"name":""}`)}, "Ana L."},
		{store.Worker{ID: "w1", Attributes: json.RawMessage(`{"name":42}`)}, "w1"},
		{store.Worker{ID: "w1", Attributes: json.RawMessage(`{}`)}, "w1"},
		{store.Worker{ID: "w1"}, "w1"},
	} {
		if got := c.w.DisplayName(); got != c.want {
			t.Errorf("%+v: %q, want %q", c.w, got, c.want)
		}
	}
}
