// Package all registers every connector that ships with Switchboard in
// connectors.Default, by importing each connector package for its init
// function. The runtime's command imports it; libraries and tests import
// only the connectors they need.
package all

import (
	_ "github.com/switchboard-dev/switchboard/connectors/custom"   // generic signed JSON
	_ "github.com/switchboard-dev/switchboard/connectors/discord"  // a Discord bot: direct messages over the Gateway, buttons and slash commands
	_ "github.com/switchboard-dev/switchboard/connectors/email"    // e-mail in by IMAP or a forwarding service, out by SMTP
	_ "github.com/switchboard-dev/switchboard/connectors/line"     // LINE Official Account chats through the Messaging API
	_ "github.com/switchboard-dev/switchboard/connectors/meta"     // WhatsApp Cloud, Messenger and Instagram on Meta's Graph API
	_ "github.com/switchboard-dev/switchboard/connectors/rcs"      // RCS Business Messaging through Google's RBM API
	_ "github.com/switchboard-dev/switchboard/connectors/slack"    // a Slack app's bot: direct messages and mentions in channels
	_ "github.com/switchboard-dev/switchboard/connectors/telegram" // Telegram bots through the Bot API
	_ "github.com/switchboard-dev/switchboard/connectors/twilio"   // SMS, MMS, WhatsApp and phone calls through Twilio
	_ "github.com/switchboard-dev/switchboard/connectors/webchat"  // the website chat widget
)
