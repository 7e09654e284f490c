package messaging

import (
	"strings"

	"github.com/switchboard-dev/switchboard/connectors"
	"github.com/switchboard-dev/switchboard/connectors/meta/graph"
)

// ID returns the config field as one of Meta's numeric ids; what names
// the id in the error ("the Page's").
func ID(cfg connectors.Config, field, what string) (string, error) {
	v, err := cfg.Required(field)
	if err != nil {
		return "", err
	}
	if strings.Trim(v, "0123456789") != "" {
		return "", &connectors.FieldError{Field: field, Problem: "must be " + what + " numeric id, not a name or URL"}
	}
	return v, nil
}

// GraphConfig reads the fields graph_url (defaultURL when unset) and
// graph_version of an instance calling the Graph API with token.
func GraphConfig(cfg connectors.Config, defaultURL, token string) (graph.Config, error) {
	gc := graph.Config{BaseURL: defaultURL, Version: graph.DefaultVersion, Token: token}
	if cfg.Has("graph_url") {
		u, err := cfg.URL("graph_url")
		if err != nil {
			return gc, err
		}
		gc.BaseURL = strings.TrimRight(u.String(), "/")
	}
	if cfg.Has("graph_version") {
		v := cfg.String("graph_version")
		if len(v) < 2 || v[0] != 'v' || strings.Trim(v[1:], "0123456789.") != "" {
			return gc, &connectors.FieldError{Field: "graph_version", Problem: `must be a Graph API version like "v23.0"`}
		}
		gc.Version = v
	}
	return gc, nil
}

// HumanAgentTag reads the field human_agent_tag (false when unset).
func HumanAgentTag(cfg connectors.Config) (bool, error) {
	if !cfg.Has("human_agent_tag") {
		return false, nil
	}
	return cfg.Bool("human_agent_tag")
}

// Configure completes o from an instance's configuration: the access
// token (the field tokenField), app_secret, verify_token, graph_url
// (defaultURL when unset), graph_version and human_agent_tag; and the
// logger and clock from res. It returns the instance.
func Configure(cfg connectors.Config, res connectors.Resources, o Options, tokenField, defaultURL string) (*Conn, error) {
	token, err := cfg.Required(tokenField)
	if err != nil {
		return nil, err
	}
	if o.AppSecret, err = cfg.Required("app_secret"); err != nil {
		return nil, err
	}
	if o.VerifyToken, err = cfg.Required("verify_token"); err != nil {
		return nil, err
	}
	gc, err := GraphConfig(cfg, defaultURL, token)
	if err != nil {
		return nil, err
	}
	if o.Style.HumanAgent, err = HumanAgentTag(cfg); err != nil {
		return nil, err
	}
	o.Client, o.Logger, o.Now = graph.New(gc, res.HTTPClient), res.Logger, res.Now
	return New(o), nil
}
