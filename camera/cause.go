package camera

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"io"
	"net"
	"os"
	"syscall"

	"github.com/bluenviron/gortsplib/v4/pkg/base"
	"github.com/bluenviron/gortsplib/v4/pkg/liberrors"
)

// Causes lists every cause a camera's state can carry, for the pages'
// labels (each has a Chinese one in dashboard/web/js/i18n.js).
var Causes = []string{CauseRefused, CauseReset, CauseUnreachable, CauseTimeout, CauseTLS, CauseAuth, CauseNotFound,
	CauseBusy, CauseNoVideo, CauseStalled, CauseLowFPS, CauseLoss, CauseNoKeyframe, CauseProtocol, CauseRecovered, CauseMaint}

// classify names the cause of a failure from what happened: the RTSP
// status code the camera answered, the socket error the kernel gave, a
// deadline, a TLS handshake. It never reads the error's text: a message
// holds addresses and ports ("127.0.0.1:40122"), and a port is not a
// status code.
func classify(err error) string {
	switch {
	case errors.Is(err, errStalled):
		return CauseStalled
	case errors.Is(err, errNoVideo):
		return CauseNoVideo
	case errors.Is(err, errNoKeyframe), errors.Is(err, errEndedBeforeKeyframe):
		return CauseNoKeyframe
	}
	var bad liberrors.ErrClientBadStatusCode
	if errors.As(err, &bad) {
		switch bad.Code {
		case base.StatusUnauthorized, base.StatusForbidden:
			return CauseAuth
		case base.StatusNotFound, base.StatusGone:
			return CauseNotFound
		case base.StatusServiceUnavailable, base.StatusNotEnoughBandwidth:
			return CauseBusy // a camera or NVR at its session limit
		}
		return CauseProtocol
	}
	var authSetup liberrors.ErrClientAuthSetup
	if errors.As(err, &authSetup) {
		return CauseAuth
	}
	if errors.As(err, &liberrors.ErrClientTCPTimeout{}) || errors.As(err, &liberrors.ErrClientUDPTimeout{}) ||
		errors.As(err, &liberrors.ErrClientRequestTimedOut{}) {
		return CauseTimeout
	}
	var (
		rec  tls.RecordHeaderError
		alrt tls.AlertError
		cert *tls.CertificateVerificationError
		ua   x509.UnknownAuthorityError
		hn   x509.HostnameError
		ci   x509.CertificateInvalidError
	)
	if errors.As(err, &rec) || errors.As(err, &alrt) || errors.As(err, &cert) || errors.As(err, &ua) ||
		errors.As(err, &hn) || errors.As(err, &ci) {
		return CauseTLS
	}
	switch {
	case errors.Is(err, syscall.ECONNREFUSED):
		return CauseRefused
	case errors.Is(err, syscall.ECONNRESET), errors.Is(err, syscall.EPIPE), errors.Is(err, syscall.ECONNABORTED),
		errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, net.ErrClosed):
		// The other end (or a middlebox) closed the connection: the camera
		// was reached, the session was not had.
		return CauseReset
	case errors.Is(err, syscall.EHOSTUNREACH), errors.Is(err, syscall.ENETUNREACH), errors.Is(err, syscall.EHOSTDOWN),
		errors.Is(err, syscall.ENETDOWN), errors.Is(err, syscall.EADDRNOTAVAIL):
		return CauseUnreachable
	}
	var dns *net.DNSError
	if errors.As(err, &dns) {
		if dns.IsTimeout {
			return CauseTimeout
		}
		return CauseUnreachable
	}
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return CauseTimeout
	}
	if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, os.ErrDeadlineExceeded) {
		return CauseTimeout
	}
	return CauseProtocol
}
