package messaging

import "github.com/switchboard-dev/switchboard/connectors"

// MaxBody is the longest Body Twilio's Messages API and TwiML <Message>
// take: 1600 characters.
const MaxBody = 1600

// Split cuts text into parts of at most limit characters (MaxBody when
// limit is zero or less) with connectors.SplitText. Characters are
// counted as UTF-16 code units (an emoji outside the Basic Multilingual
// Plane counts two), which is never fewer than Twilio counts.
func Split(text string, limit int) []string {
	if limit <= 0 {
		limit = MaxBody
	}
	return connectors.SplitText(text, limit, nil)
}
