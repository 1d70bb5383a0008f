package alerts

import (
	"encoding/binary"
	"encoding/json"
	"os"
)

// bbolt's on-disk page layout (go.etcd.io/bbolt page.go), read directly
// when a damaged page stops bbolt's own cursor: a page header of 16 bytes
// (id u64, flags u16, count u16, overflow u32) and, on a leaf page, count
// elements of 16 bytes (flags u32, pos u32, ksize u32, vsize u32) whose key
// starts pos bytes after the element and whose value follows the key.
const (
	pageHeaderSize  = 16
	leafElementSize = 16
	leafPageFlag    = 0x02
	bucketLeafFlag  = 0x01
	metaMagic       = 0xED0CDAED
)

// scanIncidents reads every incident record it can find in the leaf pages
// of a damaged store file, whatever state the tree above them is in. A
// record is kept only if it decodes and its id is its key. bbolt writes
// changed pages anew and frees the old ones, so an older copy of a record
// may still stand in a freed page: an incident's history only grows, so the
// copy with the longest history (then the latest alarm) is the newest.
func scanIncidents(path string) map[string]*record {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil
	}
	ps := pageSizeOf(b)
	found := map[string]*record{}
	for off := 2 * ps; off+pageHeaderSize <= len(b); {
		flags := binary.LittleEndian.Uint16(b[off+8:])
		count := int(binary.LittleEndian.Uint16(b[off+10:]))
		overflow := int(binary.LittleEndian.Uint32(b[off+12:]))
		span := (overflow + 1) * ps
		if flags != leafPageFlag || off+span > len(b) {
			off += ps
			continue
		}
		page := b[off : off+span]
		for i := 0; i < count; i++ {
			e := pageHeaderSize + i*leafElementSize
			if e+leafElementSize > len(page) {
				break
			}
			eflags := binary.LittleEndian.Uint32(page[e:])
			pos := int(binary.LittleEndian.Uint32(page[e+4:]))
			ksize := int(binary.LittleEndian.Uint32(page[e+8:]))
			vsize := int(binary.LittleEndian.Uint32(page[e+12:]))
			k0 := e + pos
			if eflags&bucketLeafFlag != 0 || pos <= 0 || ksize <= 0 || vsize <= 0 || k0+ksize+vsize > len(page) || k0 < 0 {
				continue
			}
			key, val := page[k0:k0+ksize], page[k0+ksize:k0+ksize+vsize]
			if len(val) == 0 || val[0] != '{' {
				continue
			}
			r := &record{}
			if json.Unmarshal(val, r) != nil || r.ID != string(key) || r.State == "" {
				continue
			}
			if old := found[r.ID]; old == nil || newer(r, old) {
				found[r.ID] = r
			}
		}
		off += span
	}
	return found
}

// newer says whether a is a later copy of the same incident than b.
func newer(a, b *record) bool {
	if len(a.History) != len(b.History) {
		return len(a.History) > len(b.History)
	}
	return a.LastSeen.After(b.LastSeen)
}

// pageSizeOf reads the page size from either meta page, 4 KiB if neither
// can be read.
func pageSizeOf(b []byte) int {
	for _, off := range []int{0, 4096} {
		m := off + pageHeaderSize
		if m+12 > len(b) || binary.LittleEndian.Uint32(b[m:]) != metaMagic {
			continue
		}
		if ps := int(binary.LittleEndian.Uint32(b[m+8:])); ps >= 512 && ps <= 1<<16 && ps&(ps-1) == 0 {
			return ps
		}
	}
	return 4096
}
