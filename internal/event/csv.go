package event

import (
	"encoding/csv"
	"io"
	"regexp"
	"strings"
	"time"
)

// CSVWriter is the one writer of every CSV the hub serves (uptime, the
// incidents archive, the 考单 figures, the backlog). It writes a
// byte-order mark first, so Excel on Chinese Windows reads UTF-8 rather
// than GBK, and neutralises every cell a spreadsheet would run as a
// formula (SafeCell): a camera named =HYPERLINK(...) must not become a
// link in a technician's sheet.
type CSVWriter struct {
	w *csv.Writer
}

// NewCSVWriter starts a CSV on w with its byte-order mark.
func NewCSVWriter(w io.Writer) *CSVWriter {
	_, _ = io.WriteString(w, "\ufeff")
	return &CSVWriter{w: csv.NewWriter(w)}
}

// Write writes one line, each cell through SafeCell.
func (c *CSVWriter) Write(rec []string) error {
	out := make([]string, len(rec))
	for i, s := range rec {
		out[i] = SafeCell(s)
	}
	return c.w.Write(out)
}

// Flush writes what is buffered and says whether any write failed.
func (c *CSVWriter) Flush() error {
	c.w.Flush()
	return c.w.Error()
}

// plainNumber is a number as the hub writes one: a negative reading or
// offset stays a number in the sheet.
var plainNumber = regexp.MustCompile(`^-[0-9]+(\.[0-9]+)?$`)

// SafeCell is a cell as it may go into a CSV: one that begins with =, +,
// -, @, a tab or a carriage return gets a leading ' (OWASP's rule against
// formula injection), except a plain negative number. The pages' own CSVs
// apply the same rule (csvCell in dashboard/web/js/common.js).
func SafeCell(s string) string {
	if s == "" || !strings.ContainsRune("=+-@\t\r", rune(s[0])) || plainNumber.MatchString(s) {
		return s
	}
	return "'" + s
}

// AuditCSVHeader is the audit export's first line (the auditor's).
var AuditCSVHeader = []string{"时间 (UTC)", "账号", "角色", "操作", "事件", "对象", "来源地址", "结果", "前一条的 SHA-256"}

// WriteAuditCSV writes audit records, in the order given, as the export's CSV.
func WriteAuditCSV(w io.Writer, list []AuditEntry) error {
	cw := NewCSVWriter(w)
	_ = cw.Write(AuditCSVHeader)
	for _, a := range list {
		_ = cw.Write([]string{a.At.UTC().Format(time.RFC3339Nano), a.User, a.Role, a.Action, a.Incident, a.Target, a.Remote, a.Result, a.Prev})
	}
	return cw.Flush()
}
