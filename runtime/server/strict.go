package server

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"reflect"
	"slices"
	"strconv"
	"strings"

	"github.com/switchboard-dev/switchboard/runtime/store"
)

// The API's strict reading of requests: every JSON body through decodeJSON
// (or decodeOptionalJSON), every enumerated query value through
// queryValue, every page through pageOf. A field or a value the API does
// not know is a 400 naming it, never silently ignored: a worker created
// with "skills" instead of "attributes" would otherwise be created and
// never be offered a task.

// decodeJSON reads the request's body, a JSON object, into v (a pointer to
// a struct): an empty body, a field v has no json tag for, a value of the
// wrong type or anything after the object is a 400 that says which. A body
// declared as something other than JSON is a 415; a body without a
// declared type, or with the types curl and fetch give a string body
// (application/x-www-form-urlencoded, text/plain), is read as JSON.
func decodeJSON(ctx *request, v any) error {
	return decode(ctx, v, false)
}

// decodeOptionalJSON is decodeJSON for a route whose body may be empty
// (v is then left as it is).
func decodeOptionalJSON(ctx *request, v any) error {
	return decode(ctx, v, true)
}

func decode(ctx *request, v any, optional bool) error {
	body := ctx.Request.Body()
	if len(bytes.TrimSpace(body)) == 0 {
		if optional {
			return nil
		}
		return bodyError(v, "empty body")
	}
	if ct := string(ctx.Request.Header.ContentType()); ct != "" {
		mt, _, err := mime.ParseMediaType(ct)
		if err != nil || !jsonMediaType(mt) {
			return &apiError{status: http.StatusUnsupportedMediaType,
				msg: fmt.Sprintf("Content-Type %q: the body must be JSON (application/json)", ct)}
		}
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	err := dec.Decode(v)
	if err == nil {
		if _, extra := dec.Token(); extra != io.EOF {
			return bodyError(v, "more than one JSON value")
		}
		return nil
	}
	var typeErr *json.UnmarshalTypeError
	var syntaxErr *json.SyntaxError
	switch {
	case errors.As(err, &typeErr) && typeErr.Field != "":
		return &apiError{status: http.StatusBadRequest,
			msg:   fmt.Sprintf("field %q: want %s, found a JSON %s", typeErr.Field, jsonKind(typeErr.Type), typeErr.Value),
			extra: map[string]any{"field": typeErr.Field}}
	case errors.As(err, &typeErr):
		return bodyError(v, "a JSON "+typeErr.Value)
	case errors.As(err, &syntaxErr):
		return bodyError(v, fmt.Sprintf("invalid JSON at byte %d: %v", syntaxErr.Offset, syntaxErr))
	case errors.Is(err, io.ErrUnexpectedEOF):
		return bodyError(v, "invalid JSON: it ends before the object does")
	}
	if name, ok := strings.CutPrefix(err.Error(), "json: unknown field "); ok {
		name, _ = strconv.Unquote(name)
		return &apiError{status: http.StatusBadRequest,
			msg:   fmt.Sprintf("unknown field %q (this body takes %s)", name, strings.Join(fieldNames(v), ", ")),
			extra: map[string]any{"field": name}}
	}
	return bodyError(v, err.Error())
}

// jsonMediaType reports whether a body of media type mt is read as JSON.
func jsonMediaType(mt string) bool {
	switch mt {
	case "application/json", "application/x-www-form-urlencoded", "text/plain":
		return true
	}
	return strings.HasSuffix(mt, "+json")
}

func bodyError(v any, why string) error {
	return errorf(http.StatusBadRequest, "%s: the body must be a JSON object with %s", why, strings.Join(fieldNames(v), ", "))
}

// fieldNames lists the JSON fields of the struct v points to, in order.
func fieldNames(v any) []string {
	t := reflect.TypeOf(v)
	for t != nil && t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if t == nil || t.Kind() != reflect.Struct {
		return nil
	}
	var out []string
	for f := range t.Fields() {
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		switch {
		case name == "-" || !f.IsExported():
		case f.Anonymous && name == "":
			out = append(out, fieldNames(reflect.New(f.Type).Interface())...)
		case name == "":
			out = append(out, f.Name)
		default:
			out = append(out, fmt.Sprintf("%q", name))
		}
	}
	if len(out) == 0 {
		return []string{"no fields"}
	}
	return out
}

// jsonKind names the JSON a Go type is read from.
func jsonKind(t reflect.Type) string {
	switch t.Kind() {
	case reflect.String:
		return "a string"
	case reflect.Bool:
		return "true or false"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return "a whole number"
	case reflect.Float32, reflect.Float64:
		return "a number"
	case reflect.Map, reflect.Struct:
		return "an object"
	case reflect.Slice, reflect.Array:
		if t == reflect.TypeOf(json.RawMessage(nil)) {
			return "a JSON value"
		}
		return "a list"
	}
	return t.String()
}

// queryValue returns the query parameter name, which must be empty or one
// of allowed: an unknown filter value is a 400 listing them, not a filter
// that silently matches nothing.
func queryValue(ctx *request, name string, allowed ...string) (string, error) {
	v := string(ctx.QueryArgs().Peek(name))
	if v == "" || slices.Contains(allowed, v) {
		return v, nil
	}
	return "", &apiError{status: http.StatusBadRequest,
		msg:   fmt.Sprintf("%s=%q is not one of %s", name, v, strings.Join(allowed, ", ")),
		extra: map[string]any{"parameter": name}}
}

// checkPage refuses, on every route that takes a token, an ?after that is
// not one of the API's cursors (the "next" of a previous page, or an
// event's seq) and a ?limit that is not a whole number from 1: the store
// would read them as no cursor and the default limit. A limit above
// store.MaxPageLimit is capped, as documented.
func checkPage(ctx *request) error {
	args := ctx.QueryArgs()
	if after := args.Peek("after"); len(after) > 0 {
		if _, _, err := (store.Page{After: string(after)}).Cursor(); err != nil {
			return &apiError{status: http.StatusBadRequest,
				msg:   fmt.Sprintf("after=%q is not a page cursor: pass the \"next\" of the previous page", after),
				extra: map[string]any{"parameter": "after"}}
		}
	}
	if raw := args.Peek("limit"); args.Has("limit") {
		if n, err := strconv.Atoi(string(raw)); err != nil || n < 1 {
			return &apiError{status: http.StatusBadRequest,
				msg:   fmt.Sprintf("limit=%q is not a whole number from 1 to %d", raw, store.MaxPageLimit),
				extra: map[string]any{"parameter": "limit"}}
		}
	}
	return nil
}

// The values of the status filters.
var (
	reservationStatuses = []string{string(store.ReservationPending), string(store.ReservationAccepted),
		string(store.ReservationRejected), string(store.ReservationTimeout), string(store.ReservationCanceled),
		string(store.ReservationRescinded), string(store.ReservationWrapping), string(store.ReservationCompleted),
		string(store.ReservationTransferred)}
	taskStatuses = []string{string(store.TaskWaiting), string(store.TaskReserved), string(store.TaskAssigned),
		string(store.TaskWrapping), string(store.TaskCompleted), string(store.TaskCanceled)}
)
