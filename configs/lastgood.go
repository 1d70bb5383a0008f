package configs

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
)

// LastGoodName is the file in data_dir that holds a copy of the last
// configuration file that loaded: a start on a file that no longer loads
// (a refused reload followed by a crash, a reboot, a restart by the service
// manager) starts on it instead of not starting at all.
const LastGoodName = "last-good-config.yaml"

// LoadFile is Load that also returns the bytes it validated, for
// SaveLastGood: the copy is what was checked, not the file read again.
func LoadFile(path string) (*Config, []byte, error) {
	data, err := readFile(path)
	if err != nil {
		return nil, nil, err
	}
	cfg, err := Parse(path, data)
	if err != nil {
		return nil, nil, err
	}
	return cfg, data, nil
}

// SaveLastGood writes data, a configuration file that loaded from path, to
// dataDir/LastGoodName atomically: a temporary file beside it, fsync,
// rename, fsync of the directory. A crash at any point leaves the old copy
// or the new one, never a torn file. The copy holds the file's secrets, so
// only the hub's user may read it.
func SaveLastGood(dataDir, path string, data []byte) error {
	if err := os.MkdirAll(dataDir, 0o750); err != nil {
		return fmt.Errorf("last good configuration: %w", err)
	}
	f, err := os.CreateTemp(dataDir, LastGoodName+".tmp-*")
	if err != nil {
		return fmt.Errorf("last good configuration: %w", err)
	}
	tmp := f.Name()
	defer os.Remove(tmp) // after the rename there is nothing to remove
	abs, _ := filepath.Abs(path)
	// A YAML comment: the copy still parses as the file it copies.
	head := fmt.Sprintf("# 上次有效的配置 (last good configuration) of %s, loaded %s\n", oneLine(abs), time.Now().UTC().Format(time.RFC3339))
	_, err = f.WriteString(head)
	if err == nil {
		_, err = f.Write(data)
	}
	if err == nil {
		err = f.Chmod(0o600)
	}
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, filepath.Join(dataDir, LastGoodName))
	}
	if err == nil {
		err = syncDir(dataDir)
	}
	if err != nil {
		return fmt.Errorf("last good configuration in %s: %w", dataDir, err)
	}
	return nil
}

// LoadLastGood loads the last good copy for the configuration file at path
// that does not load (its problems in fileErr). The copy is looked for in
// the data_dir the broken file names, or the default one when even that
// cannot be read. The copy is parsed as if it were the file at path: its
// relative *_file keys resolve from the file's folder, and a reload reads
// path again. The error names both when the copy is missing or bad too.
func LoadLastGood(path string, fileErr error) (cfg *Config, saved time.Time, err error) {
	data, _ := os.ReadFile(path) // unreadable: the default data_dir
	copyPath := filepath.Join(DataDirOf(data), LastGoodName)
	st, err := os.Stat(copyPath)
	if err != nil {
		return nil, time.Time{}, fmt.Errorf("no last good configuration to start on (%w)", err)
	}
	good, err := readFile(copyPath)
	if err != nil {
		return nil, time.Time{}, fmt.Errorf("last good configuration %s: %w", copyPath, err)
	}
	cfg, err = Parse(path, good)
	if err != nil {
		return nil, time.Time{}, fmt.Errorf("last good configuration %s does not load either: %w", copyPath, err)
	}
	return cfg, st.ModTime().UTC(), nil
}

var dataDirLine = regexp.MustCompile(`(?m)^data_dir:[ \t]*(.*?)[ \t]*(?:#.*)?$`)

// DataDirOf reads data_dir from a file that may not be valid (an unknown
// key, a wrong value elsewhere, a syntax error): the YAML's top-level key
// when it parses, else a "data_dir:" line, else the default.
func DataDirOf(data []byte) string {
	var top struct {
		DataDir string `yaml:"data_dir"`
	}
	if err := yaml.Unmarshal(data, &top); err == nil && top.DataDir != "" {
		return top.DataDir
	}
	if m := dataDirLine.FindSubmatch(data); m != nil {
		if v := strings.Trim(string(bytes.TrimSpace(m[1])), `"'`); v != "" {
			return v
		}
	}
	var c Config
	applyDefaults(&c)
	return c.DataDir
}

func readFile(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, Errors{{File: path, Msg: err.Error()}}
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, Errors{{File: path, Msg: err.Error()}}
	}
	if st.Size() > MaxFileSize {
		return nil, Errors{{File: path, Msg: fmt.Sprintf("file is %d bytes; the limit is %d (8 MiB)", st.Size(), MaxFileSize)}}
	}
	data := make([]byte, st.Size())
	if _, err := f.ReadAt(data, 0); err != nil && st.Size() > 0 {
		return nil, Errors{{File: path, Msg: err.Error()}}
	}
	return data, nil
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	if err := d.Sync(); err != nil && !errors.Is(err, os.ErrInvalid) {
		return err
	}
	return nil
}

func oneLine(s string) string { return strings.NewReplacer("\n", " ", "\r", " ").Replace(s) }
