package compiler

import (
	"bytes"
	"errors"
	"fmt"
	"reflect"
	"regexp"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/expr-lang/expr"
	"github.com/expr-lang/expr/ast"
	"github.com/expr-lang/expr/checker"
	"github.com/expr-lang/expr/checker/nature"
	exprcompiler "github.com/expr-lang/expr/compiler"
	"github.com/expr-lang/expr/conf"
	"github.com/expr-lang/expr/file"
	"github.com/expr-lang/expr/optimizer"
	"github.com/expr-lang/expr/parser"
	"github.com/expr-lang/expr/vm"

	"github.com/switchboard-dev/switchboard/diag"
	"github.com/switchboard-dev/switchboard/lang"
)

// scope is the typed environment of one place in the program: the names
// an expression there may use, each with a value of its type.
type scope struct {
	values map[string]any
	// notYet reports steps of the flow whose outputs are in values but
	// are not set yet when this expression runs: reading one is an error.
	notYet func(name string) bool
	// spelled holds the type names written for names whose type has
	// another name in messages (`var n: int` is a number): messages about
	// them say what the admin wrote.
	spelled map[string]string
	config  *conf.Config // built on first use from values
	// programs memoizes compiled texts: a Program is immutable, so states
	// that say the same thing in the same scope share one. Shared by the
	// scopes that share config.
	programs map[string]*vm.Program
}

func (s *scope) with(extra map[string]any) *scope {
	v := make(map[string]any, len(s.values)+len(extra))
	for k, x := range s.values {
		v[k] = x
	}
	for k, x := range extra {
		v[k] = x
	}
	return &scope{values: v, notYet: s.notYet, spelled: s.spelled}
}

// at returns the scope with another set of not-yet-run steps, sharing the
// checker configuration.
func (s *scope) at(notYet func(string) bool) *scope {
	s.env()
	return &scope{values: s.values, notYet: notYet, spelled: s.spelled, config: s.config, programs: s.programs}
}

// templatesName is the environment entry holding the values of a
// expression's interpolated strings, in order: `_t[0]`, `_t[1]`, ….
const templatesName = "_t"

// env returns the checker configuration for the scope. Building one walks
// every name's type, so it is built once per scope and shared by all the
// expressions compiled in it (expr.Compile would rebuild it each time).
func (s *scope) env() *conf.Config {
	if s.config == nil {
		values := make(map[string]any, len(s.values)+1)
		for k, v := range s.values {
			values[k] = v
		}
		values[templatesName] = []string{}
		cfg := conf.CreateNew()
		expr.Env(values)(cfg)
		for k, v := range values {
			if v == nil {
				// A name of type any (declared so, or whose declaration
				// was wrong) is of unknown type to the checker, which
				// then accepts any use: a nil value would be nil's type.
				cfg.Env.Fields[k] = nature.Nature{}
			}
		}
		expr.DisableBuiltin("now")(cfg) // flows are deterministic: time comes from `now`, set per event
		for name := range cfg.Disabled {
			delete(cfg.Builtins, name)
		}
		cfg.Check()
		s.config = cfg
		s.programs = map[string]*vm.Program{}
	}
	return s.config
}

// compileExpr is expr.Compile with a prepared configuration.
func (s *scope) compileExpr(text string) (*vm.Program, error) {
	cfg := *s.env()
	if p, ok := s.programs[text]; ok {
		return p, nil
	}
	tree, err := checker.ParseCheck(text, &cfg)
	if err != nil {
		return nil, err
	}
	if cfg.Optimize {
		if err := optimizer.Optimize(&tree.Node, &cfg); err != nil {
			var ferr *file.Error
			if errors.As(err, &ferr) {
				return nil, ferr.Bind(tree.Source)
			}
			return nil, err
		}
	}
	p, err := exprcompiler.Compile(tree, &cfg)
	if err == nil {
		s.programs[text] = p
	}
	return p, err
}

// compileRun compiles the expression written by toks.
func (c *compiler) compileRun(toks []lang.Token, sc *scope, want Type, what string) *Expr {
	if len(toks) == 0 {
		return nil
	}
	first, last := toks[0].Span, toks[len(toks)-1].Span
	if first.Start.Line != last.End.Line {
		toks = nil // a run over several lines may hold comments: lex it again to find them
	}
	return c.compileTokens(first.File, first.Start.Offset, last.End.Offset, toks, sc, want, "", what)
}

// compileTyped compiles an expression whose value goes to a name declared
// with the type written spelled (`int` for a number), which the message
// about a value of the wrong type names.
func (c *compiler) compileTyped(toks []lang.Token, sc *scope, want Type, spelled, what string) *Expr {
	if len(toks) == 0 {
		return nil
	}
	first, last := toks[0].Span, toks[len(toks)-1].Span
	if first.Start.Line != last.End.Line {
		toks = nil
	}
	return c.compileTokens(first.File, first.Start.Offset, last.End.Offset, toks, sc, want, spelled, what)
}

// compileRange compiles src[start:end] of file.
func (c *compiler) compileRange(fileName string, start, end int, sc *scope, want Type, what string) *Expr {
	return c.compileTokens(fileName, start, end, nil, sc, want, "", what)
}

// compileTokens compiles src[start:end] of file, whose tokens are toks
// (nil: lex the text, which finds its comments too). The text handed to
// expr has the same length as the source, so expr's error offsets map
// straight back: comments become spaces and each interpolated string
// becomes a `_t[i]` placeholder padded to the string's length.
func (c *compiler) compileTokens(fileName string, start, end int, toks []lang.Token, sc *scope, want Type, spelled, what string) *Expr {
	src := c.sources[fileName]
	text := append([]byte(nil), src[start:end]...)
	out := &Expr{
		Source: c.texts[fileName][start:end],
		Span:   diag.Span{File: fileName, Start: c.posAt(fileName, start), End: c.posAt(fileName, end)},
	}
	if toks == nil && bytes.ContainsAny(text, "\"'#/") {
		toks, _ = lang.Lex("", text)
	} else {
		var rel []lang.Token // the strings only: most expressions have none
		for _, t := range toks {
			if t.Kind == lang.String || t.Kind == lang.RawString {
				t.Span.Start.Offset -= start
				t.Span.End.Offset -= start
				rel = append(rel, t)
			}
		}
		toks = rel
	}
	for _, t := range toks {
		switch {
		case t.Kind == lang.Comment:
			for i := t.Span.Start.Offset; i < t.Span.End.Offset; i++ {
				text[i] = ' '
			}
		case t.Kind == lang.RawString && t.Text[0] == '\'' && !strings.Contains(t.Text, "`"):
			// Single-quoted strings are raw, as backquoted ones are in expr.
			text[t.Span.Start.Offset] = '`'
			text[t.Span.End.Offset-1] = '`'
		case t.Kind == lang.String && (strings.Contains(t.Text, "${") || strings.Contains(t.Text, `\$`)):
			name := fmt.Sprintf("%s[%d]", templatesName, len(out.Templates))
			if len(name) > len(t.Text) {
				c.diags.Errorf("E0108", c.span(fileName, start+t.Span.Start.Offset, start+t.Span.End.Offset), "string is too short to interpolate")
				return nil
			}
			tmpl, ok := c.template(fileName, start+t.Span.Start.Offset, t.Text, sc)
			if !ok {
				return nil
			}
			out.Templates = append(out.Templates, tmpl)
			copy(text[t.Span.Start.Offset:], name+strings.Repeat(" ", len(t.Text)-len(name)))
		}
	}
	prog, err := sc.compileExpr(string(text))
	if err != nil {
		c.exprError(fileName, start, text, err, sc)
		return nil
	}
	if sc.notYet != nil && !c.outputsReady(fileName, start, text, prog, sc) {
		return nil
	}
	out.Program = prog
	if want != TypeAny && want != "" {
		got := prog.Node().Type()
		if !assignable(got, want) {
			if spelled == "" {
				spelled = string(want)
			}
			c.diags.Errorf("E0402", out.Span, "%s must be %s, not %s", what, article(spelled), typeName(got))
			return nil
		}
	}
	return out
}

// constant compiles a name written where a word is meant (`channel sms`)
// into an expression yielding that word.
func (c *compiler) constant(t lang.Token) *Expr {
	prog, err := expr.Compile(strconv.Quote(t.Text))
	if err != nil {
		panic(err) // a quoted identifier always compiles
	}
	return &Expr{Source: t.Text, Span: t.Span, Program: prog}
}

// outputsReady reports reads of steps that cannot have run yet.
func (c *compiler) outputsReady(fileName string, start int, text []byte, prog *vm.Program, sc *scope) bool {
	ok := true
	node := prog.Node()
	ast.Walk(&node, visitFunc(func(n *ast.Node) {
		id, isIdent := (*n).(*ast.IdentifierNode)
		if !isIdent || !sc.notYet(id.Value) {
			return
		}
		loc := id.Location()
		from, to := runeToByte(text, loc.From), runeToByte(text, loc.To)
		if to <= from {
			to = from + len(id.Value)
		}
		c.diags.Errorf("E0405", c.span(fileName, start+from, start+to), "step %s has not run when this expression is evaluated", diag.Quote(id.Value)).
			WithHint("a step's outputs can be read only by the steps that come after it")
		ok = false
	}))
	return ok
}

type visitFunc func(*ast.Node)

func (f visitFunc) Visit(n *ast.Node) { f(n) }

// template splits an interpolated string token (quotes included) that
// starts at byte offset at into literal parts and compiled expressions.
func (c *compiler) template(fileName string, at int, tok string, sc *scope) (Template, bool) {
	var t Template
	var lit strings.Builder
	body := tok[1 : len(tok)-1]
	base := at + 1
	flush := func() {
		if lit.Len() > 0 {
			t.Parts = append(t.Parts, TemplatePart{Text: lit.String()})
			lit.Reset()
		}
	}
	for i := 0; i < len(body); {
		ch := body[i]
		switch {
		case ch == '\\' && i+1 < len(body):
			if body[i+1] == '$' {
				lit.WriteByte('$')
				i += 2
				continue
			}
			// Let strconv handle the standard escapes one at a time.
			n := 2
			if body[i+1] == 'u' {
				n = 6
			} else if body[i+1] == 'U' {
				n = 10
			} else if body[i+1] == 'x' {
				n = 4
			}
			if i+n > len(body) {
				n = len(body) - i
			}
			s, err := strconv.Unquote(`"` + body[i:i+n] + `"`)
			if err != nil {
				c.diags.Errorf("E0109", c.span(fileName, base+i, base+i+n), "invalid escape %s", diag.Quote(body[i:i+n]))
				return t, false
			}
			lit.WriteString(s)
			i += n
		case ch == '$' && i+1 < len(body) && body[i+1] == '{':
			end := matchInterpolation(body, i+2)
			if end < 0 {
				c.diags.Errorf("E0108", c.span(fileName, base+i, base+len(body)), "`${` is not closed")
				return t, false
			}
			if strings.TrimSpace(body[i+2:end]) == "" {
				c.diags.Errorf("E0108", c.span(fileName, base+i, base+end+1), "empty `${}` in string").
					WithHint("put an expression inside, e.g. `${contact.name}`")
				return t, false
			}
			flush()
			e := c.compileRange(fileName, base+i+2, base+end, sc, TypeAny, "interpolation")
			if e == nil {
				return t, false
			}
			t.Parts = append(t.Parts, TemplatePart{Expr: e})
			i = end + 1
		default:
			lit.WriteByte(ch)
			i++
		}
	}
	flush()
	return t, true
}

// matchInterpolation returns the index of the '}' closing an interpolation
// whose content starts at from, or -1.
func matchInterpolation(s string, from int) int {
	depth := 1
	for i := from; i < len(s); i++ {
		switch s[i] {
		case '{':
			depth++
		case '}':
			depth--
			if depth == 0 {
				return i
			}
		case '"', '\'', '`':
			q := s[i]
			for i++; i < len(s) && s[i] != q; i++ {
				if s[i] == '\\' {
					i++
				}
			}
		}
	}
	return -1
}

// exprError reports an expr-lang error at its place in the flow file.
func (c *compiler) exprError(fileName string, start int, text []byte, err error, sc *scope) {
	var ferr *file.Error
	if !errors.As(err, &ferr) {
		c.diags.Errorf("E0401", c.span(fileName, start, start+len(text)), "%v", err)
		return
	}
	from := runeToByte(text, ferr.From)
	to := runeToByte(text, ferr.To)
	if to <= from {
		to = tokenEnd(text, from)
	}
	sp := c.span(fileName, start+from, start+to)
	msg := ferr.Message
	code := "E0401"
	switch {
	case strings.HasPrefix(msg, "unknown name "):
		name := strings.TrimPrefix(msg, "unknown name ")
		d := c.diags.Errorf("E0403", sp, "unknown name %s", diag.Quote(name))
		d.DidYouMean(name, keys(sc.values))
		return
	case noField.MatchString(msg):
		m := noField.FindStringSubmatch(msg)
		typ, field := m[1], m[2]
		name, fields := describeType(typ)
		d := c.diags.Errorf("E0403", sp, "%s has no field %s", name, diag.Quote(field))
		if d.DidYouMean(field, fields) {
		} else if len(fields) > 0 {
			d.WithHint("its fields are %s", strings.Join(fields, ", "))
		}
		return
	case strings.Contains(msg, "compiler.HoursRef"):
		c.diags.Errorf("E0402", sp, "open takes the name of an hours declaration").
			WithHint("write the name without quotes, e.g. open(support_hours)")
		return
	case strings.Contains(msg, "error parsing regexp"):
		code = "E0404"
		msg = "invalid regular expression: " + strings.TrimPrefix(msg[strings.Index(msg, "error parsing regexp"):], "error parsing regexp: ")
	case strings.Contains(msg, "mismatched types"), strings.Contains(msg, "invalid operation"),
		strings.Contains(msg, "cannot use"), strings.Contains(msg, "not enough arguments"),
		strings.Contains(msg, "too many arguments"), strings.Contains(msg, "type "):
		code = "E0402"
	}
	msg = exprToken.ReplaceAllString(msg, "`$1`")
	if code == "E0402" {
		msg = languageTypes(msg, text, ferr, sc)
	}
	c.diags.Errorf(code, sp, "%s", lowerFirst(strings.TrimSpace(msg)))
}

// goTypes are the Go types expr-lang names in its messages, in the words
// of the language.
var goTypes = map[string]string{
	"int": "number", "int64": "number", "float64": "number", "string": "string", "bool": "bool",
	"[]interface {}": "list", "map[string]interface {}": "map", "interface {}": "any", "unknown": "any",
	"time.Time": "time", "time.Duration": "duration", "[]string": "list", "map[string]string": "map",
	"compiler.Message": "message", "compiler.Contact": "contact", "compiler.Conversation": "conversation",
}

var mismatched = regexp.MustCompile(`^invalid operation: (\S+) \(mismatched types (.+) and (.+)\)$`)

// languageTypes rewrites the Go type names of an expr-lang type error into
// the language's, and, when an operand is a name declared with another
// name of its type (`var n: int`), into the name written.
func languageTypes(msg string, text []byte, ferr *file.Error, sc *scope) string {
	name := func(goType string) string {
		if n, ok := goTypes[goType]; ok {
			return n
		}
		return goType
	}
	if m := mismatched.FindStringSubmatch(msg); m != nil {
		left, right := name(m[2]), name(m[3])
		if len(sc.spelled) > 0 {
			if l, r, ok := operandNames(text, ferr, m[1]); ok {
				if s := sc.spelled[l]; s != "" {
					left = s
				}
				if s := sc.spelled[r]; s != "" {
					right = s
				}
			}
		}
		return fmt.Sprintf("invalid operation: %s (mismatched types %s and %s)", m[1], left, right)
	}
	for goType, n := range goTypes {
		if strings.Contains(goType, " ") || strings.Contains(goType, ".") || strings.Contains(goType, "[") {
			msg = strings.ReplaceAll(msg, goType, n)
		}
	}
	return msg
}

// operandNames finds the binary operation an error points at and returns
// the names its operands are, when they are plain names.
func operandNames(text []byte, ferr *file.Error, op string) (left, right string, ok bool) {
	tree, err := parser.Parse(string(text))
	if err != nil {
		return "", "", false
	}
	ast.Walk(&tree.Node, visitFunc(func(n *ast.Node) {
		b, isBin := (*n).(*ast.BinaryNode)
		if !isBin || b.Operator != op || b.Location().From != ferr.From {
			return
		}
		if id, isID := b.Left.(*ast.IdentifierNode); isID {
			left = id.Value
		}
		if id, isID := b.Right.(*ast.IdentifierNode); isID {
			right = id.Value
		}
		ok = true
	}))
	return left, right, ok
}

var (
	noField   = regexp.MustCompile(`^type (\S+) has no field (\S+)`)
	exprToken = regexp.MustCompile(`\b(?:Operator|Bracket|Identifier|Number|String|EOF)\("((?:[^"\\]|\\.)*)"\)`)
)

// describeType names an environment type for a message and lists its
// fields as expressions see them.
func describeType(goName string) (string, []string) {
	types := map[string]any{"compiler.Message": Message{}, "compiler.Contact": Contact{}, "compiler.Conversation": Conversation{},
		"compiler.HTTPOutput": HTTPOutput{}, "compiler.AskOutput": AskOutput{}, "compiler.FunctionOutput": FunctionOutput{},
		"compiler.EnqueueOutput": EnqueueOutput{}, "compiler.TaskInfo": TaskInfo{}, "compiler.SubflowOutput": SubflowOutput{},
		"compiler.GatherOutput": GatherOutput{}, "compiler.RecordOutput": RecordOutput{}, "compiler.DialOutput": DialOutput{}}
	names := map[string]string{"compiler.Message": "a message", "compiler.Contact": "a contact", "compiler.Conversation": "a conversation",
		"compiler.TaskInfo": "a task"}
	v, ok := types[goName]
	if !ok {
		return "type " + goName, nil
	}
	name := names[goName]
	if name == "" {
		name = "this step's output"
	}
	t := reflect.TypeOf(v)
	var fields []string
	for i := 0; i < t.NumField(); i++ {
		fields = append(fields, t.Field(i).Tag.Get("expr"))
	}
	return name, fields
}

func tokenEnd(text []byte, from int) int {
	i := from
	for i < len(text) {
		r, n := utf8.DecodeRune(text[i:])
		if r == ' ' || r == '\n' || r == '\t' || (i > from && strings.ContainsRune("()[]{},", r)) {
			break
		}
		i += n
	}
	if i == from && i < len(text) {
		i++
	}
	return i
}

func runeToByte(text []byte, runes int) int {
	i := 0
	for n := 0; n < runes && i < len(text); n++ {
		_, size := utf8.DecodeRune(text[i:])
		i += size
	}
	return i
}

func lowerFirst(s string) string {
	if s == "" {
		return s
	}
	r, n := utf8.DecodeRuneInString(s)
	if r >= 'A' && r <= 'Z' && (len(s) == n || !(s[n] >= 'A' && s[n] <= 'Z')) {
		return string(r+'a'-'A') + s[n:]
	}
	return s
}

func keys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		if k != templatesName {
			out = append(out, k)
		}
	}
	return out
}

// assignable reports whether a value of Go type got may be stored in a
// variable of declared type want. Unknown (interface) types pass: they are
// checked when the value exists.
func assignable(got reflect.Type, want Type) bool {
	if got == nil || got.Kind() == reflect.Interface || want == TypeAny {
		return true
	}
	switch want {
	case TypeString:
		return got.Kind() == reflect.String
	case TypeNumber:
		switch got.Kind() {
		case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
			reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64,
			reflect.Float32, reflect.Float64:
			return true
		}
		return false
	case TypeBool:
		return got.Kind() == reflect.Bool
	case TypeList:
		return got.Kind() == reflect.Slice || got.Kind() == reflect.Array
	case TypeMap:
		return got.Kind() == reflect.Map || got.Kind() == reflect.Struct
	}
	return true
}

// typeName describes a Go type in the language's words.
func typeName(t reflect.Type) string {
	if t == nil {
		return "nil"
	}
	switch t.Kind() {
	case reflect.String:
		return "a string"
	case reflect.Bool:
		return "a bool"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64,
		reflect.Float32, reflect.Float64:
		return "a number"
	case reflect.Slice, reflect.Array:
		return "a list"
	case reflect.Map, reflect.Struct:
		if t == typeOfTime {
			return "a time"
		}
		return "a map"
	case reflect.Func:
		return "a function"
	}
	return t.String()
}

// article names a value of a type, by the type's name as written.
func article[T ~string](t T) string {
	switch string(t) {
	case string(TypeAny):
		return "any value"
	case "int":
		return "an int"
	}
	return "a " + string(t)
}
