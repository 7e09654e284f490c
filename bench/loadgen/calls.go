package main

import (
	"bytes"
	"fmt"
	"net/url"
	"strconv"

	"github.com/switchboard-dev/switchboard/connectors/twilio/twilioapi"
)

// Calls mode (-twilio-voice TOKEN): every request is a new phone call to a twilio_voice instance
// serving the IVR (flows/ivr.flow), as Twilio places it: a form with a unique CallSid from a new
// caller, signed with X-Twilio-Signature over the instance's public URL. The answer must be the
// IVR's TwiML: its menu (<Gather>) when the office is open, its voicemail (<Record>) when not.
// Every call is a new contact, conversation and execution, committed before the answer.

// callForm is an incoming call's webhook form, from the number of serial.
func callForm(id []byte, serial uint64) url.Values {
	return url.Values{
		"CallSid":    {"CA" + string(id)},
		"AccountSid": {"AC00000000000000000000000000000000"},
		"From":       {"+1" + strconv.FormatUint(2000000000+serial%8000000000, 10)},
		"To":         {"+15550100000"},
		"CallStatus": {"ringing"},
		"Direction":  {"inbound"},
		"ApiVersion": {"2010-04-01"},
	}
}

// doCall places a call with id from the sender's connection and waits for the answer.
func (s *sender) doCall(id []byte) error {
	form := callForm(id, s.cfg.callers.Add(1)) // a new caller each time, across the connections
	s.body = append(s.body[:0], form.Encode()...)
	s.req.Header.SetContentType("application/x-www-form-urlencoded")
	s.req.Header.Set(twilioapi.HeaderSignature, twilioapi.Signature(s.cfg.voiceToken, s.target.String(), form))
	s.req.SetBodyRaw(s.body)
	return s.client.DoTimeout(s.req, s.resp, s.cfg.timeout)
}

// checkCall says whether an answer to a new call is the IVR's.
func checkCall(status int, contentType, body []byte) (reaction, error) {
	switch {
	case status != 200:
		return 0, fmt.Errorf("status %d: %q", status, clip(body))
	case !bytes.HasPrefix(contentType, []byte("text/xml")):
		return 0, fmt.Errorf("content type %q, not TwiML: %q", contentType, clip(body))
	case !bytes.Contains(body, []byte("<Gather")) && !bytes.Contains(body, []byte("<Record")):
		return 0, fmt.Errorf("not the IVR's answer (no <Gather> or <Record>): %q", clip(body))
	}
	return reactCall, nil
}
