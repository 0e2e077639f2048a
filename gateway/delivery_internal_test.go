package gateway

import (
	"testing"
	"time"
)

// A notification that is never written holds one result for deliveryWait,
// not every result after it.
func TestDeliveryLossHoldsOneResult(t *testing.T) {
	d := newDelivery()
	d.sent()
	start := time.Now()
	if d.flush(t.Context()) {
		t.Fatal("flush = true with a notification queued and none written")
	}
	if waited := time.Since(start); waited < deliveryWait {
		t.Errorf("flush gave up after %v; want %v", waited, deliveryWait)
	}
	start = time.Now()
	if !d.flush(t.Context()) || time.Since(start) > deliveryWait/2 {
		t.Error("the next result waited for the lost notification again")
	}
	d.sent()
	go d.wrote()
	if !d.flush(t.Context()) {
		t.Error("flush = false though the notification was written")
	}
}
