// Package twilio registers the connectors on Twilio, by importing each for
// its init function: SMS, MMS and WhatsApp (connectors/twilio/messaging)
// and phone calls (connectors/twilio/voice), on the signature check and
// REST client of connectors/twilio/twilioapi.
package twilio

import (
	_ "github.com/switchboard-dev/switchboard/connectors/twilio/messaging" // SMS, MMS and WhatsApp through Twilio
	_ "github.com/switchboard-dev/switchboard/connectors/twilio/voice"     // phone calls to a Twilio number
)
