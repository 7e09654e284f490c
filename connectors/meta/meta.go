// Package meta registers the connectors on Meta's Graph API, by importing
// each for its init function: WhatsApp Cloud (connectors/meta/whatsapp),
// Messenger and Instagram (connectors/meta/messenger, instagram; their
// shared parsing and sending in connectors/meta/messaging), on the Graph
// API client of connectors/meta/graph.
package meta

import (
	_ "github.com/switchboard-dev/switchboard/connectors/meta/instagram" // Instagram Direct, with Instagram Login or through a Page
	_ "github.com/switchboard-dev/switchboard/connectors/meta/messenger" // Facebook Messenger conversations of a Page
	_ "github.com/switchboard-dev/switchboard/connectors/meta/whatsapp"  // WhatsApp through Meta's Cloud API
)
