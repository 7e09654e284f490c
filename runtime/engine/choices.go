package engine

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/switchboard-dev/switchboard/compiler"
)

// choices evaluates a step's choices and menu into s.
func (r *run) choices(op *compiler.SendOp, s *SendEffect) error {
	v, err := r.eval(op.Choices)
	if err != nil || v == nil {
		return err
	}
	list, ok := v.([]any)
	if !ok {
		if strs, isStrs := v.([]string); isStrs {
			for _, x := range strs {
				list = append(list, x)
			}
		} else {
			return fmt.Errorf("%s: choices must be a list, got %T", op.Choices.Span, v)
		}
	}
	seen := map[string]bool{}
	for i, x := range list {
		c, err := choiceOf(x)
		if err != nil {
			return fmt.Errorf("%s: choice %d: %w", op.Choices.Span, i+1, err)
		}
		if seen[c.ID] {
			return fmt.Errorf("%s: choice %d: id %q is offered twice", op.Choices.Span, i+1, c.ID)
		}
		seen[c.ID] = true
		s.Choices = append(s.Choices, c)
	}
	s.Menu, err = r.evalString(op.Menu)
	return err
}

// choiceOf reads one element of a choices list: a string (its id and
// title) or a map {id, title, description}.
func choiceOf(x any) (Choice, error) {
	var c Choice
	switch v := x.(type) {
	case string:
		c = Choice{ID: v, Title: v}
	case map[string]any:
		for k, f := range v {
			s, ok := f.(string)
			if !ok && f != nil {
				return c, fmt.Errorf("%s must be a string, got %T", k, f)
			}
			switch k {
			case "id":
				c.ID = s
			case "title":
				c.Title = s
			case "description":
				c.Description = s
			default:
				return c, fmt.Errorf("unknown field %q (a choice has id, title and description)", k)
			}
		}
	default:
		return c, fmt.Errorf("must be a string or a map {id, title}, got %T", x)
	}
	if strings.TrimSpace(c.ID) == "" || strings.TrimSpace(c.Title) == "" {
		return c, fmt.Errorf("needs a non-empty id and title")
	}
	return c, nil
}

// PickChoice is the id of the offered choice a reply picked: the one the
// customer tapped (tapped, the platform's id, when it is offered), else
// the one whose title the text is (ignoring case and surrounding space)
// or whose number it is ("2": the second). It is "" when the reply picks
// none.
func PickChoice(offered []Choice, tapped, text string) string {
	for _, c := range offered {
		if tapped != "" && c.ID == tapped {
			return c.ID
		}
	}
	t := strings.TrimSpace(text)
	if t == "" {
		return ""
	}
	for _, c := range offered {
		if strings.EqualFold(strings.TrimSpace(c.Title), t) {
			return c.ID
		}
	}
	if n, err := strconv.Atoi(t); err == nil && n >= 1 && n <= len(offered) {
		return offered[n-1].ID
	}
	return ""
}
