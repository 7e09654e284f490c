package messaging

import (
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/switchboard-dev/switchboard/connectors"
	"github.com/switchboard-dev/switchboard/connectors/twilio/twilioapi"
)

// MaxMedia is the most media an inbound message may carry: Twilio sends
// at most 10 (MMS) and accepts at most 10 per message.
const MaxMedia = 10

// attribute is a parameter of Twilio's request that flows see as
// message.attributes[name].
type attribute struct {
	param, name string
	kind        byte // 's' string, 'i' integer, 'f' number, 'b' boolean
}

// messageAttributes are the parameters of an incoming message exposed
// to flows, as Twilio names them (its "request to your webhook URL").
var messageAttributes = []attribute{
	{"MessageSid", "message_sid", 's'},
	{"AccountSid", "account_sid", 's'},
	{"MessagingServiceSid", "messaging_service_sid", 's'},
	{"NumSegments", "num_segments", 'i'},
	{"NumMedia", "num_media", 'i'},
	{"FromCity", "from_city", 's'},
	{"FromState", "from_state", 's'},
	{"FromZip", "from_zip", 's'},
	{"FromCountry", "from_country", 's'},
	{"ToCity", "to_city", 's'},
	{"ToState", "to_state", 's'},
	{"ToZip", "to_zip", 's'},
	{"ToCountry", "to_country", 's'},
	{"OptOutType", "opt_out_type", 's'},
	// WhatsApp.
	{"WaId", "wa_id", 's'},
	{"MessageType", "message_type", 's'},
	{"Latitude", "latitude", 'f'},
	{"Longitude", "longitude", 'f'},
	{"Address", "address", 's'},
	{"Label", "label", 's'},
	{"ButtonText", "button_text", 's'},
	{"ButtonPayload", "button_payload", 's'},
	{"Forwarded", "forwarded", 'b'},
	{"FrequentlyForwarded", "frequently_forwarded", 'b'},
	{"OriginalRepliedMessageSid", "replied_message_sid", 's'},
	{"ReferralBody", "referral_body", 's'},
	{"ReferralHeadline", "referral_headline", 's'},
	{"ReferralSourceId", "referral_source_id", 's'},
	{"ReferralSourceType", "referral_source_type", 's'},
	{"ReferralSourceUrl", "referral_source_url", 's'},
	{"ReferralCtwaClid", "referral_ctwa_clid", 's'},
}

// reported are the statuses of a sent message that become an Inbound;
// queued, accepted, sending, scheduled and the like say nothing a flow
// waits for.
var reported = map[string]bool{"sent": true, "delivered": true, "read": true, "failed": true, "undelivered": true}

// parse turns a verified request's parameters into the message, or the
// status report, it carries.
func parse(p url.Values) ([]connectors.Inbound, error) {
	sid := first(p, "MessageSid", "SmsMessageSid", "SmsSid")
	if sid == "" {
		return nil, connectors.Errorf(http.StatusBadRequest, "missing parameter MessageSid")
	}
	if _, hasBody := p["Body"]; p.Get("MessageStatus") != "" && !hasBody {
		return status(p, sid)
	}
	from := p.Get("From")
	if from == "" {
		return nil, connectors.Errorf(http.StatusBadRequest, "missing parameter From")
	}
	channel, fromAddr := address(from)
	_, toAddr := address(p.Get("To"))
	in := connectors.Inbound{PlatformID: sid, Channel: channel, From: fromAddr, To: toAddr,
		FromName: p.Get("ProfileName"), Text: p.Get("Body"), Attributes: map[string]any{}}
	in.Phone, _ = twilioapi.E164(fromAddr)
	for _, a := range messageAttributes {
		if v := p.Get(a.param); v != "" {
			in.Attributes[a.name] = typed(v, a.kind)
		}
	}
	media, types, err := mediaOf(p)
	if err != nil {
		return nil, err
	}
	if len(media) > 0 {
		in.Media = media
		in.Attributes["media_content_types"] = types
	}
	return []connectors.Inbound{in}, nil
}

// mediaOf reads MediaUrl0…MediaUrl{NumMedia-1} and their content types.
func mediaOf(p url.Values) (media []string, types []any, err error) {
	v := p.Get("NumMedia")
	if v == "" || v == "0" {
		return nil, nil, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 0 || n > MaxMedia {
		return nil, nil, connectors.Errorf(http.StatusBadRequest, "parameter NumMedia must be a number from 0 to %d, not %q", MaxMedia, v)
	}
	for i := range n {
		u := p.Get("MediaUrl" + strconv.Itoa(i))
		if pu, err := url.Parse(u); err != nil || (pu.Scheme != "https" && pu.Scheme != "http") || pu.Host == "" {
			return nil, nil, connectors.Errorf(http.StatusBadRequest, "parameter MediaUrl%d must be an absolute http or https URL (NumMedia is %d)", i, n)
		}
		media = append(media, u)
		types = append(types, p.Get("MediaContentType"+strconv.Itoa(i)))
	}
	return media, types, nil
}

// status turns a status callback into a delivery report, or nothing for
// the statuses no flow waits for.
func status(p url.Values, sid string) ([]connectors.Inbound, error) {
	st := strings.ToLower(p.Get("MessageStatus"))
	if !reported[st] {
		return nil, nil
	}
	to := p.Get("To")
	if to == "" {
		return nil, connectors.Errorf(http.StatusBadRequest, "missing parameter To in a status callback")
	}
	channel, customer := address(to)
	_, ours := address(p.Get("From"))
	in := connectors.Inbound{PlatformID: sid + "/" + st, Channel: channel, From: customer, To: ours,
		Status:     &connectors.DeliveryStatus{PlatformID: sid, Status: st},
		Attributes: map[string]any{"message_sid": sid, "message_status": st}}
	in.Phone, _ = twilioapi.E164(customer)
	for _, a := range [...]attribute{{"AccountSid", "account_sid", 's'}, {"MessagingServiceSid", "messaging_service_sid", 's'}, {"ErrorCode", "error_code", 'i'}} {
		if v := p.Get(a.param); v != "" {
			in.Attributes[a.name] = typed(v, a.kind)
		}
	}
	if code := p.Get("ErrorCode"); code != "" && code != "0" {
		in.Status.Error = code + ": " + describe(code, first(p, "ErrorMessage", "ChannelStatusMessage"))
	}
	return []connectors.Inbound{in}, nil
}

// errorText says what the error codes met most in a contact center mean,
// and what to do about them; Twilio's status callbacks carry the code
// alone.
var errorText = map[string]string{
	"21211": "the To number is not a valid phone number",
	"21408": "sending to this region is not enabled in the account's geo permissions",
	"21610": "the recipient opted out with STOP and gets no messages from this sender until they reply START",
	"21612": "the To number cannot be reached from this sender",
	"21614": "the To number is not a mobile number that can receive SMS",
	"30003": "unreachable destination handset (switched off or out of coverage)",
	"30004": "message blocked (by the recipient, their carrier, or an opt-out)",
	"30005": "unknown destination handset: the number does not exist",
	"30006": "landline or unreachable carrier",
	"30007": "message filtered by the carrier as spam",
	"30008": "unknown error from the carrier",
	"30034": "US A2P 10DLC: the sender number is not registered to a campaign",
	"63003": "the channel could not find the To address: the number is not on WhatsApp",
	"63016": "outside the WhatsApp 24-hour window: the customer has not written in the last 24 hours, so only an approved template (content_sid) can be sent",
	"63018": "WhatsApp rate limit for this sender exceeded",
	"63024": "invalid WhatsApp recipient",
}

// describe returns the text of an error code: the table's, else Twilio's
// message when the callback has one, else the code's page.
func describe(code, message string) string {
	if t, ok := errorText[code]; ok {
		return t
	}
	if message != "" {
		return message
	}
	return "see https://www.twilio.com/docs/errors/" + code
}

// typed converts a parameter to the attribute's type; a value that does
// not convert stays a string.
func typed(v string, kind byte) any {
	switch kind {
	case 'i':
		if n, err := strconv.Atoi(v); err == nil {
			return n
		}
	case 'f':
		if f, err := strconv.ParseFloat(v, 64); err == nil {
			return f
		}
	case 'b':
		if b, err := strconv.ParseBool(v); err == nil {
			return b
		}
	}
	return v
}

// first returns the first non-empty parameter of names.
func first(p url.Values, names ...string) string {
	for _, n := range names {
		if v := p.Get(n); v != "" {
			return v
		}
	}
	return ""
}
