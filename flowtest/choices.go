package flowtest

import (
	"fmt"
	"reflect"
	"strconv"
	"strings"

	"github.com/switchboard-dev/switchboard/runtime/engine"
)

// offered is the choice of that id among the ones the waiting ask offered;
// the test fails when there is none.
func (r *runner) offered(id string) engine.Choice {
	var ids []string
	for _, c := range r.X.Wait.Choices {
		if c.ID == id {
			return c
		}
		ids = append(ids, strconv.Quote(c.ID))
	}
	if len(ids) == 0 {
		r.failf("the question offers no choices to tap")
	}
	r.failf("the question offers no choice %q (it offers %s)", id, strings.Join(ids, ", "))
	return engine.Choice{}
}

// expectedChoices reads the choices of an `expect send`: a list of titles
// (strings), or of maps {id, title, description} to check ids too.
func expectedChoices(v any) ([]engine.Choice, error) {
	list, ok := v.([]any)
	if !ok {
		return nil, fmt.Errorf("choices must be a list of titles, or of {id, title} maps")
	}
	out := make([]engine.Choice, len(list))
	for i, x := range list {
		switch c := x.(type) {
		case string:
			out[i] = engine.Choice{Title: c}
		case map[string]any:
			for k, f := range c {
				s, isStr := f.(string)
				if !isStr {
					return nil, fmt.Errorf("choice %d: %s must be a string", i+1, k)
				}
				switch k {
				case "id":
					out[i].ID = s
				case "title":
					out[i].Title = s
				case "description":
					out[i].Description = s
				default:
					return nil, fmt.Errorf("choice %d: unknown field %q (want id, title, description)", i+1, k)
				}
			}
		default:
			return nil, fmt.Errorf("choice %d must be a title or an {id, title} map", i+1)
		}
	}
	return out, nil
}

// choicesMismatch says how the offered choices differ from the `expect
// send`'s; "" when they do not. A choice expected as a title checks the
// title only; a field a map leaves out is not checked.
func choicesMismatch(s *Step, got []engine.Choice) string {
	v, ok := s.Value["choices"]
	if !ok {
		return ""
	}
	want, err := expectedChoices(v)
	if err != nil {
		return err.Error()
	}
	same := len(want) == len(got)
	for i := 0; same && i < len(want); i++ {
		w, g := want[i], got[i]
		if w.ID == "" {
			g.ID = ""
		}
		if w.Description == "" {
			g.Description = ""
		}
		same = reflect.DeepEqual(w, g)
	}
	if same {
		return ""
	}
	return fmt.Sprintf("the choices offered are %s, want %s", describeChoices(got), describeChoices(want))
}

func describeChoices(cs []engine.Choice) string {
	if len(cs) == 0 {
		return "none"
	}
	parts := make([]string, len(cs))
	for i, c := range cs {
		switch {
		case c.ID == "" || c.ID == c.Title:
			parts[i] = strconv.Quote(c.Title)
		default:
			parts[i] = fmt.Sprintf("{id: %q, title: %q}", c.ID, c.Title)
		}
	}
	return "[" + strings.Join(parts, ", ") + "]"
}
