package compiler

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"

	"github.com/expr-lang/expr"
)

// Eval runs the expression against env, the names of its scope bound to
// values of the types the checker saw (Message for `message`, and so on).
// Interpolated strings are evaluated first and bound to `_t`; env is
// modified, so pass a map owned by this evaluation.
func (e *Expr) Eval(env map[string]any) (any, error) {
	if len(e.Templates) > 0 {
		values := make([]string, len(e.Templates))
		for i, t := range e.Templates {
			s, err := t.Render(env)
			if err != nil {
				return nil, err
			}
			values[i] = s
		}
		env[templatesName] = values
	}
	out, err := expr.Run(e.Program, env)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", e.Span, err)
	}
	return out, nil
}

// Render evaluates the template's interpolations and joins the parts.
func (t Template) Render(env map[string]any) (string, error) {
	var b strings.Builder
	for _, p := range t.Parts {
		if p.Expr == nil {
			b.WriteString(p.Text)
			continue
		}
		v, err := p.Expr.Eval(env)
		if err != nil {
			return "", err
		}
		b.WriteString(Stringify(v))
	}
	return b.String(), nil
}

// Stringify renders a value the way interpolation shows it: nil as
// nothing, strings as they are, numbers in their shortest form, lists and
// maps as JSON.
func Stringify(v any) string {
	switch x := v.(type) {
	case nil:
		return ""
	case string:
		return x
	case bool:
		return strconv.FormatBool(x)
	case int:
		return strconv.Itoa(x)
	case int64:
		return strconv.FormatInt(x, 10)
	case float64:
		return strconv.FormatFloat(x, 'f', -1, 64)
	case fmt.Stringer:
		return x.String()
	}
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprint(v)
	}
	return string(b)
}
