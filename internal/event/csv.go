package event

import (
	"encoding/csv"
	"io"
	"regexp"
	"strings"
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
