package flowtest

import (
	"encoding/json"
	"errors"
	"strconv"
	"strings"

	"github.com/switchboard-dev/switchboard/runtime/engine"
)

// AnswerFormat says how ParseAnswer reads an answer typed for a request
// of a mock kind that no mock answers (switchboard simulate asks for one).
func AnswerFormat(kind string) string { return answerFormat[kind] }

var answerFormat = map[string]string{
	"http":     `STATUS [JSON body], or "error TEXT"`,
	"function": `a JSON value, or "error TEXT"`,
	"record":   `URL [SECONDS], or "error TEXT"`,
	"dial":     `answered, no_answer, busy or failed`,
}

// ParseAnswer reads a typed answer to a request of a mock kind (http,
// function, record or dial) as its result; "error TEXT" fails the request.
func ParseAnswer(kind, line string) (engine.Result, error) {
	var res engine.Result
	if rest, ok := strings.CutPrefix(line, "error"); ok && kind != "dial" && (rest == "" || rest[0] == ' ') {
		res.Err = strings.TrimSpace(rest)
		if res.Err == "" {
			res.Err = "error"
		}
		return res, nil
	}
	switch kind {
	case "http":
		code, body, _ := strings.Cut(line, " ")
		n, err := strconv.Atoi(code)
		if err != nil || n < 100 || n > 599 {
			return res, errors.New("start with an HTTP status such as 200")
		}
		body = strings.TrimSpace(body)
		if body != "" && !json.Valid([]byte(body)) {
			return res, errors.New("the body is not valid JSON")
		}
		res.Status, res.Body = n, body
	case "function":
		if err := json.Unmarshal([]byte(line), &res.Value); err != nil {
			return res, errors.New("not a JSON value")
		}
	case "record":
		f := strings.Fields(line)
		if len(f) == 0 {
			return res, errors.New("give the recording's URL")
		}
		res.RecordingURL = f[0]
		if len(f) > 1 {
			d, err := strconv.ParseFloat(f[1], 64)
			if err != nil {
				return res, errors.New("the duration is a number of seconds")
			}
			res.Duration = d
		}
	case "dial":
		switch line {
		case "answered", "no_answer", "busy", "failed":
			res.DialStatus = line
		default:
			return res, errors.New("want answered, no_answer, busy or failed")
		}
	}
	return res, nil
}
