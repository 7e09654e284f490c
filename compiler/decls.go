package compiler

import (
	"strings"
	"time"

	"github.com/switchboard-dev/switchboard/diag"
	"github.com/switchboard-dev/switchboard/lang"
)

var weekdays = map[string]time.Weekday{"sun": time.Sunday, "mon": time.Monday, "tue": time.Tuesday,
	"wed": time.Wednesday, "thu": time.Thursday, "fri": time.Friday, "sat": time.Saturday}

var weekdayNames = []string{"mon", "tue", "wed", "thu", "fri", "sat", "sun"}

func (c *compiler) hours(d *lang.Decl) *Hours {
	h := &Hours{Name: d.Name.Value, Closed: map[string]bool{}, Span: d.Name.Span(), Location: time.UTC, TimeZone: "UTC"}
	sawTZ := false
	for _, it := range d.Body.Items {
		l := it.Line
		if l == nil {
			c.diags.Errorf("E0314", it.Step.Name.Span(), "hours hold opening times, not steps").
				WithHint("write lines like `mon-fri 08:00-17:00`")
			continue
		}
		head, _ := lineTokens(l)
		if !c.noTail(l, "an hours line") {
			continue
		}
		key := head[0]
		switch {
		case key.Is("timezone"):
			if len(head) != 2 || head[1].Kind != lang.String && head[1].Kind != lang.RawString {
				c.diags.Errorf("E0314", l.Span(), "timezone needs a zone name in quotes").WithHint(`e.g. timezone "Asia/Jakarta"`)
				continue
			}
			name := strings.Trim(head[1].Text, "\"'`")
			loc, err := time.LoadLocation(name)
			if err != nil {
				c.diags.Errorf("E0314", head[1].Span, "unknown time zone %s", diag.Quote(name)).
					WithHint("use an IANA name such as \"Europe/Paris\" or \"America/New_York\"")
				continue
			}
			if sawTZ {
				c.diags.Errorf("E0306", key.Span, "timezone is set twice")
			}
			sawTZ = true
			h.Location, h.TimeZone = loc, name
		case key.Is("closed"):
			for _, part := range splitTop(head[1:], ",") {
				if len(part) != 1 || part[0].Kind != lang.Date {
					sp := key.Span
					if len(part) > 0 {
						sp = runSpan(part)
					}
					c.diags.Errorf("E0314", sp, "closed takes dates like 2026-12-25")
					continue
				}
				if _, err := time.Parse("2006-01-02", part[0].Text); err != nil {
					c.diags.Errorf("E0314", part[0].Span, "invalid date %s", diag.Quote(part[0].Text))
					continue
				}
				h.Closed[part[0].Text] = true
			}
		default:
			c.hoursLine(h, head)
		}
	}
	return h
}

// hoursLine decodes `mon-fri 08:00-17:00, 18:00-20:00` or `sat 09:00-12:00`.
func (c *compiler) hoursLine(h *Hours, head []lang.Token) {
	first, ok := weekdays[head[0].Text]
	if head[0].Kind != lang.Ident || !ok {
		d := c.diags.Errorf("E0314", head[0].Span, "expected a day (mon … sun), timezone or closed, found %s", diag.Quote(head[0].Text))
		d.DidYouMean(head[0].Text, append(append([]string{}, weekdayNames...), "timezone", "closed"))
		return
	}
	last := first
	rest := head[1:]
	if len(rest) >= 2 && rest[0].Is("-") && rest[1].Kind == lang.Ident {
		l, ok := weekdays[rest[1].Text]
		if !ok {
			c.diags.Errorf("E0314", rest[1].Span, "expected a day (mon … sun), found %s", diag.Quote(rest[1].Text))
			return
		}
		last = l
		rest = rest[2:]
	}
	if len(rest) == 0 {
		c.diags.Errorf("E0314", runSpan(head), "expected opening times after the days").WithHint("e.g. mon-fri 08:00-17:00")
		return
	}
	var ranges []Range
	for _, part := range splitTop(rest, ",") {
		if len(part) != 3 || part[0].Kind != lang.Time || !part[1].Is("-") || part[2].Kind != lang.Time {
			sp := runSpan(head)
			if len(part) > 0 {
				sp = runSpan(part)
			}
			c.diags.Errorf("E0314", sp, "expected a time range like 08:00-17:00")
			return
		}
		from, ok1 := minutes(part[0].Text)
		to, ok2 := minutes(part[2].Text)
		if !ok1 || !ok2 || to <= from {
			c.diags.Errorf("E0314", runSpan(part), "invalid time range %s", diag.Quote(lang.RunText(part))).
				WithHint("times run from 00:00 to 24:00 and a range must end after it starts")
			return
		}
		ranges = append(ranges, Range{from, to})
	}
	for d := first; ; d = (d + 1) % 7 {
		h.Weekly[d] = append(h.Weekly[d], ranges...)
		if d == last {
			break
		}
	}
}

func minutes(hhmm string) (int, bool) {
	h := int(hhmm[0]-'0')*10 + int(hhmm[1]-'0')
	m := int(hhmm[3]-'0')*10 + int(hhmm[4]-'0')
	if m > 59 || h > 24 || (h == 24 && m != 0) {
		return 0, false
	}
	return h*60 + m, true
}

func (c *compiler) routingScope(name string) *scope {
	v := map[string]any{name: map[string]any{}, NameNow: time.Time{}, NameOpen: OpenFunc(nil)}
	if name == NameWorker && c.worker != nil {
		v[name] = c.worker.typed
	}
	for k, x := range c.hoursEnv {
		v[k] = x
	}
	return &scope{values: v}
}

func (c *compiler) queue(d *lang.Decl) *Queue {
	q := &Queue{Name: d.Name.Value, Strategy: StrategyLongestIdle, Span: d.Name.Span()}
	sc := c.routingScope(NameWorker)
	seen := map[string]diag.Span{}
	for _, it := range d.Body.Items {
		l := it.Line
		if l == nil {
			c.diags.Errorf("E0301", it.Step.Name.Span(), "a queue holds `workers`, `order` and `max_reserved`, not steps")
			continue
		}
		if !c.noTail(l, "a queue line") {
			continue
		}
		head := l.Head.Tokens
		key := head[0]
		if first, dup := seen[key.Text]; dup {
			c.diags.Errorf("E0306", key.Span, "%s is set twice in queue %s", diag.Quote(key.Text), diag.Quote(q.Name)).WithRelated(first, "first set here")
			continue
		}
		seen[key.Text] = key.Span
		switch {
		case key.Is("workers"):
			rest := head[1:]
			if i := indexTop(rest, "order"); i >= 0 {
				if _, dup := seen["order"]; dup {
					c.diags.Errorf("E0306", rest[i].Span, "`order` is set twice in queue %s", diag.Quote(q.Name))
				}
				seen["order"] = rest[i].Span
				c.queueOrder(q, rest[i], rest[i+1:], sc)
				rest = rest[:i]
			}
			if len(rest) == 0 {
				c.diags.Errorf("E0309", key.Span, "workers needs a condition on `worker`").
					WithHint(`e.g. workers "en" in worker.languages`)
				continue
			}
			q.Workers = c.compileRun(rest, sc, TypeBool, "the workers condition")
			c.markUsed(q.Workers)
		case key.Is("order"):
			c.queueOrder(q, key, head[1:], sc)
		case key.Is("max_reserved"):
			q.MaxReserved, _ = c.int(head[1:], "max_reserved", key.Span)
		default:
			c.unknownKey(key, "queue", []string{"workers", "order", "max_reserved"})
		}
	}
	if _, ok := seen["workers"]; !ok {
		c.diags.Errorf("E0305", d.Name.Span(), "queue %s has no `workers` condition", diag.Quote(q.Name)).
			WithHint(`add a line like: workers "en" in worker.languages`)
	}
	return q
}

func (c *compiler) queueOrder(q *Queue, key lang.Token, rest []lang.Token, sc *scope) {
	if len(rest) == 0 {
		c.diags.Errorf("E0309", key.Span, "order needs a strategy or an expression").
			WithHint("longest_idle, least_busy, round_robin, or an expression followed by asc or desc")
		return
	}
	if len(rest) == 1 && rest[0].Kind == lang.Ident {
		switch rest[0].Text {
		case StrategyLongestIdle, StrategyLeastBusy, StrategyRoundRobin:
			q.Strategy = rest[0].Text
			return
		}
	}
	last := rest[len(rest)-1]
	if last.Is("asc") || last.Is("desc") {
		q.Descending = last.Text == "desc"
		rest = rest[:len(rest)-1]
	} else {
		d := c.diags.Errorf("E0309", runSpan(rest), "order by an expression needs `asc` or `desc` at the end")
		if len(rest) == 1 {
			if s := diag.Suggest(rest[0].Text, []string{StrategyLongestIdle, StrategyLeastBusy, StrategyRoundRobin}); s != "" {
				d.Msg = "unknown queue order " + diag.Quote(rest[0].Text)
				d.WithHint("did you mean %s?", diag.Quote(s))
			}
		}
		return
	}
	if len(rest) == 0 {
		c.diags.Errorf("E0309", last.Span, "expected an expression before %s", diag.Quote(last.Text))
		return
	}
	q.Strategy = StrategyExpr
	q.OrderBy = c.compileRun(rest, sc, TypeAny, "the order")
	c.markUsed(q.OrderBy)
}

func (c *compiler) unknownKey(key lang.Token, where string, known []string) {
	d := c.diags.Errorf("E0302", key.Span, "unknown %s setting %s", where, diag.Quote(key.Text))
	if !d.DidYouMean(key.Text, known) {
		d.WithHint("a %s takes %s", where, strings.Join(quoteAll(known), ", "))
	}
}

func quoteAll(xs []string) []string {
	out := make([]string, len(xs))
	for i, x := range xs {
		out[i] = diag.Quote(x)
	}
	return out
}

func (c *compiler) workflow(d *lang.Decl) *Workflow {
	w := &Workflow{Name: d.Name.Value, Span: d.Name.Span()}
	sc := c.routingScope(NameTask)
	hasDefault := false
	for _, it := range d.Body.Items {
		l := it.Line
		if l == nil {
			c.diags.Errorf("E0301", it.Step.Name.Span(), "a workflow holds `when … -> queue` filters and a `default`, not steps")
			continue
		}
		head, tail := lineTokens(l)
		key := head[0]
		switch {
		case key.Is("when"):
			if len(head) < 2 {
				c.diags.Errorf("E0309", key.Span, "when needs a condition on `task`")
				continue
			}
			if tail == nil {
				c.diags.Errorf("E0307", runSpan(head), "expected `-> queue` after the condition")
				continue
			}
			f := Filter{When: c.compileRun(head[1:], sc, TypeBool, "a workflow condition"), Span: l.Span()}
			c.markUsed(f.When)
			f.Targets = c.targets(tail, sc, l.Span())
			w.Filters = append(w.Filters, f)
		case key.Is("default"):
			if hasDefault {
				c.diags.Errorf("E0306", key.Span, "workflow %s has two defaults", diag.Quote(w.Name))
				continue
			}
			hasDefault = true
			if !c.noTail(l, "default") {
				continue
			}
			ts := c.targets(head[1:], sc, key.Span)
			if len(ts) > 0 {
				w.Default = ts[0]
				if len(ts) > 1 || ts[0].Timeout != 0 {
					c.diags.Errorf("E0309", runSpan(head[1:]), "the default target cannot time out or escalate")
				}
			}
		default:
			c.unknownKey(key, "workflow", []string{"when", "default"})
		}
	}
	if !hasDefault {
		c.diags.Errorf("E0316", d.Name.Span(), "workflow %s has no `default` queue", diag.Quote(w.Name)).
			WithHint("add `default QUEUE` for tasks no filter matches")
	}
	return w
}

// targets decodes `vip timeout 30s priority 5, then english`.
func (c *compiler) targets(toks []lang.Token, sc *scope, at diag.Span) []Target {
	var out []Target
	if len(toks) == 0 {
		c.diags.Errorf("E0309", at, "expected a queue name")
		return nil
	}
	for i, part := range splitTop(toks, ",") {
		if len(part) == 0 {
			c.diags.Errorf("E0309", at, "expected a target after `,`")
			return out
		}
		if i > 0 {
			if !part[0].Is("then") {
				c.diags.Errorf("E0309", part[0].Span, "expected `then` before the next target").WithHint("e.g. `-> vip timeout 30s, then english`")
				return out
			}
			part = part[1:]
			if len(part) == 0 {
				c.diags.Errorf("E0309", at, "expected a target after `then`")
				return out
			}
		}
		t := Target{Span: runSpan(part)}
		rest := part[1:]
		if part[0].Is("worker") {
			end := indexTop(rest, "timeout", "priority")
			if end < 0 {
				end = len(rest)
			}
			if end == 0 {
				c.diags.Errorf("E0309", part[0].Span, "worker needs an expression naming the worker").WithHint("e.g. worker task.last_worker")
				return out
			}
			t.Worker = c.compileRun(rest[:end], sc, TypeAny, "the worker")
			c.markUsed(t.Worker)
			rest = rest[end:]
		} else {
			if part[0].Kind != lang.Ident {
				c.diags.Errorf("E0309", part[0].Span, "expected a queue name, found %s", diag.Quote(part[0].Text))
				return out
			}
			t.Queue = part[0].Text
			c.usedDecls["queue:"+t.Queue] = true
			if _, ok := c.declared["queue"][t.Queue]; !ok {
				d := c.diags.Errorf("E0206", part[0].Span, "unknown queue %s", diag.Quote(t.Queue))
				d.DidYouMean(t.Queue, keys(c.declared["queue"]))
			}
		}
		for len(rest) > 0 {
			k := rest[0]
			end := indexTop(rest[1:], "timeout", "priority")
			if end < 0 {
				end = len(rest) - 1
			}
			val := rest[1 : 1+end]
			switch {
			case k.Is("timeout"):
				t.Timeout, _ = c.duration(val, "timeout", k.Span)
			case k.Is("priority"):
				t.Priority = c.compileRun(val, sc, TypeNumber, "priority")
				c.markUsed(t.Priority)
			default:
				c.diags.Errorf("E0309", k.Span, "unexpected %s in a workflow target", diag.Quote(k.Text)).
					WithHint("a target is `QUEUE [timeout D] [priority N]`, targets separated by `, then`")
				end = len(rest) - 1
			}
			rest = rest[1+end:]
		}
		out = append(out, t)
	}
	return out
}
