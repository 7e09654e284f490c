package store

import "encoding/json"

// DisplayName is what a customer sees of a worker (on the agent's messages,
// in "Ana joined"): its `name` attribute when it is a non-empty string,
// else its Name, else its id.
func (w Worker) DisplayName() string {
	var attrs struct {
		Name any `json:"name"`
	}
	if json.Unmarshal(w.Attributes, &attrs) == nil {
		if s, ok := attrs.Name.(string); ok && s != "" {
			return s
		}
	}
	if w.Name != "" {
		return w.Name
	}
	return w.ID
}
