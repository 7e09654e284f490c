package instagram_test

import (
	"context"
	"errors"
	"testing"

	"github.com/switchboard-dev/switchboard/connectors"
	"github.com/switchboard-dev/switchboard/connectors/meta/graphfake"
)

// TestReceiveMessengerObject: a Page's notification sent to an Instagram
// webhook is refused for its object.
func TestReceiveMessengerObject(t *testing.T) {
	_, err := ig.Offline(t).Receive(context.Background(), graphfake.Webhook(secret, ig.Hook, []byte(`{"object":"page","entry":[]}`)))
	var se *connectors.StatusError
	if !errors.As(err, &se) || se.Status != 400 || se.Reason != `object "page": this webhook takes "instagram" notifications` {
		t.Errorf("err = %v", err)
	}
}
