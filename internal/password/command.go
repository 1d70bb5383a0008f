package password

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"strings"
)

// Command is `snowhub -hash-password`: it reads one password line from in
// (a terminal, or a pipe: `printf '%s\n' "$PW" | snowhub -hash-password`),
// checks the rules, and prints the hash for users[].password_hash on out.
// The password itself is never echoed.
func Command(in io.Reader, out io.Writer, p Params) error {
	line, err := bufio.NewReader(io.LimitReader(in, 4*MaxLength+2)).ReadString('\n')
	if err != nil && !errors.Is(err, io.EOF) {
		return fmt.Errorf("读取密码 / reading the password: %w", err)
	}
	pw := strings.TrimSuffix(strings.TrimSuffix(line, "\n"), "\r")
	if pw == "" {
		return errors.New("标准输入没有密码 / no password on stdin: printf '%s\\n' \"$PASSWORD\" | snowhub -hash-password")
	}
	if err := Check(pw); err != nil {
		return err
	}
	h, err := Hash(pw, p)
	if err != nil {
		return err
	}
	_, err = fmt.Fprintln(out, h)
	return err
}
