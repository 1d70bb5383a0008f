package notify

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// Class is what a vendor's refusal means for delivery.
type Class int

const (
	ClassTransient Class = iota // 5xx, network, timeout: retry with jittered back-off
	ClassRateLimit              // the robot's or number's rate: wait for the window's end, then digest
	ClassAuth                   // bad secret, signature, key or keyword: the channel is failing; keep queueing
	ClassTooLong                // the body is over the vendor's cap: split smaller
	ClassBudget                 // SMS: the number's daily budget is spent: the next channel of the route
	ClassRejected               // the vendor refuses this message for good (bad number, bad request)
)

var classNames = [...]string{"transient", "rate_limit", "auth", "too_long", "budget", "rejected"}

func (c Class) String() string { return classNames[c] }

// VendorError is a refusal or failure classified for the delivery loop.
type VendorError struct {
	Class Class
	Code  string        // the vendor's error code, e.g. "130101"
	Msg   string        // the vendor's message (never a secret)
	Wait  time.Duration // rate limit: how long the vendor blocks
	// Phones lists the numbers a per-number refusal was about (SMS).
	Phones []string
}

func (e *VendorError) Error() string {
	return fmt.Sprintf("%s %s: %s", e.Class, e.Code, e.Msg)
}

func classify(err error) *VendorError {
	var ve *VendorError
	if errors.As(err, &ve) {
		return ve
	}
	return &VendorError{Class: ClassTransient, Code: "network", Msg: err.Error()}
}

// message is what one call of a channel delivers: one notice, or a digest
// (or one part of it) of several.
type message struct {
	Title    string    // DingTalk markdown title; SMS short summary
	Text     string    // the rendered body, in the channel's format
	Mentions []string  // phones to @
	Phones   []string  // SMS recipients
	Params   smsParams // SMS template parameters
	Notices  []*Notice // what the message carries (webhook/MQTT send their steps)
	Digest   bool
}

// smsParams are the SMS template's variables: ${sev} ${title} ${place} ${step} ${id}.
type smsParams struct {
	Sev, Title, Place, Step, ID string
}

// sender delivers a message through one vendor.
type sender interface {
	send(ctx context.Context, m *message) error
	close()
}
