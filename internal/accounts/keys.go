package accounts

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"time"
	"unicode/utf8"

	"go.etcd.io/bbolt"

	"snowhub/internal/auth"
	"snowhub/internal/event"
)

// API keys for machines (scripts, other systems) and displays (a wall
// screen that runs for days with no person logged in): a long random
// credential with a role and scope, shown once, kept as its SHA-256,
// sent only in the Authorization header, revocable, its last use kept.

// KeyPrefix starts every key the hub makes, so a log scanner or a person
// can tell one apart from a password.
const KeyPrefix = "snowhub_"

// Key is an API key as kept (never its secret).
type Key struct {
	ID         string     `json:"id"`
	Note       string     `json:"note"`
	Role       string     `json:"role"`
	Township   string     `json:"township,omitempty"`
	Village    string     `json:"village,omitempty"`
	Department string     `json:"department,omitempty"`
	Hash       string     `json:"hash,omitempty"` // kept; cleared in every answer (Shown)
	Created    time.Time  `json:"created"`
	CreatedBy  string     `json:"created_by"`
	Expires    *time.Time `json:"expires,omitempty"`
	Revoked    *time.Time `json:"revoked,omitempty"`
	RevokedBy  string     `json:"revoked_by,omitempty"`
	LastUsed   *time.Time `json:"last_used,omitempty"`
}

// KeySpec is what an API key is made with.
type KeySpec struct {
	Note       string     `json:"note"`
	Role       string     `json:"role"`
	Township   string     `json:"township"`
	Village    string     `json:"village"`
	Department string     `json:"department"`
	Expires    *time.Time `json:"expires"`
}

// Audit actions of API keys.
const (
	AuditKeyCreated = "key_created"
	AuditKeyRevoked = "key_revoked"
)

var keyBucket = []byte("keys")

// lastUsedEvery is how stale the kept last use may get: a key used every
// second writes at most once in this time.
const lastUsedEvery = 10 * time.Minute

// Principal is the key's principal, named after the key.
func (k Key) Principal() auth.Principal {
	return auth.Principal{Name: "key:" + k.ID, Role: k.Role, Township: k.Township, Village: k.Village, Department: k.Department}
}

// Active: neither revoked nor expired at now.
func (k Key) Active(now time.Time) bool {
	return k.Revoked == nil && (k.Expires == nil || now.Before(*k.Expires))
}

// CreateKey makes a key and returns it with its secret (shown once).
func (s *Store) CreateKey(by auth.Principal, sp KeySpec) (Key, string, error) {
	note := strings.TrimSpace(sp.Note)
	if note == "" || utf8.RuneCountInString(note) > 128 {
		return Key{}, "", event.Refuse(event.ErrBadRequest, "请写明用途（1–128 个字符），如“大屏 3 号”“12345 热线对接” / note: say what it is for (1-128 characters)")
	}
	a := Account{Role: sp.Role, Township: sp.Township, Village: sp.Village, Department: sp.Department}
	if err := s.check(a); err != nil {
		return Key{}, "", err
	}
	now := s.o.Now().UTC()
	if sp.Expires != nil && !sp.Expires.After(now) {
		return Key{}, "", event.Refuse(event.ErrBadRequest, "过期时间应在将来 / expires must be in the future")
	}
	idb, secret := make([]byte, 4), make([]byte, 32)
	if _, err := rand.Read(idb); err != nil {
		return Key{}, "", err
	}
	if _, err := rand.Read(secret); err != nil {
		return Key{}, "", err
	}
	k := Key{ID: hex.EncodeToString(idb), Note: note, Role: a.Role, Township: a.Township, Village: a.Village, Department: a.Department,
		Created: now, CreatedBy: by.Name, Expires: sp.Expires}
	token := KeyPrefix + k.ID + "_" + base64.RawURLEncoding.EncodeToString(secret)
	k.Hash = keyHash(token)
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.putKey(k); err != nil {
		return Key{}, "", err
	}
	s.audit(by, AuditKeyCreated, "key:"+k.ID, fmt.Sprintf("%s; %s", describe(a), note))
	return k, token, nil
}

// Keys are every key, newest first.
func (s *Store) Keys() []Key {
	s.mu.RLock()
	out := make([]Key, 0, len(s.keys))
	for _, k := range s.keys {
		out = append(out, k)
	}
	s.mu.RUnlock()
	sort.Slice(out, func(i, j int) bool { return out[i].Created.After(out[j].Created) })
	return out
}

// KeyByID is the key of id.
func (s *Store) KeyByID(id string) (Key, bool) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.keyByID(id)
}

// keyByID is KeyByID under s.mu (keys are few: a scan is enough).
func (s *Store) keyByID(id string) (Key, bool) {
	for _, k := range s.keys {
		if k.ID == id {
			return k, true
		}
	}
	return Key{}, false
}

// RevokeKey revokes the key of id: it stops working at once.
func (s *Store) RevokeKey(by auth.Principal, id string) (Key, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	k, found := s.keyByID(id)
	if !found {
		return Key{}, event.Refuse(event.ErrNotFound, "没有密钥 %s / no key %s", id, id)
	}
	if k.Revoked != nil {
		return k, event.Refuse(event.ErrConflict, "密钥 %s 已吊销 / key %s is revoked already", id, id)
	}
	now := s.o.Now().UTC()
	k.Revoked, k.RevokedBy = &now, by.Name
	if err := s.putKey(k); err != nil {
		return Key{}, err
	}
	s.audit(by, AuditKeyRevoked, "key:"+k.ID, k.Note)
	return k, nil
}

// Authenticate is the key a bearer token is, if it is one in force; its
// use is recorded (kept on disk at most every lastUsedEvery).
func (s *Store) Authenticate(token string) (Key, bool) {
	if !strings.HasPrefix(token, KeyPrefix) || len(token) > 128 {
		return Key{}, false
	}
	h := keyHash(token)
	now := s.o.Now().UTC()
	s.mu.RLock()
	k, ok := s.keys[h]
	s.mu.RUnlock()
	if !ok || !k.Active(now) {
		return Key{}, false
	}
	if k.LastUsed == nil || now.Sub(*k.LastUsed) >= lastUsedEvery {
		s.mu.Lock()
		if cur, ok := s.keys[h]; ok && cur.Revoked == nil {
			cur.LastUsed = &now
			if err := s.putKey(cur); err != nil {
				s.o.Logger.Warn("密钥最近使用时间未保存 (a key's last use not saved)", "key", k.ID, "err", err)
			}
			k = cur
		}
		s.mu.Unlock()
	}
	return k, true
}

// putKey writes k (under s.mu) and takes it in memory.
func (s *Store) putKey(k Key) error {
	b, err := json.Marshal(k)
	if err != nil {
		return err
	}
	if err := s.db.Update(func(tx *bbolt.Tx) error { return tx.Bucket(keyBucket).Put([]byte(k.ID), b) }); err != nil {
		return fmt.Errorf("密钥未保存 / key not saved: %w", err)
	}
	s.keys[k.Hash] = k
	return nil
}

func keyHash(token string) string { h := sha256.Sum256([]byte(token)); return hex.EncodeToString(h[:]) }

// Shown is k as an answer shows it: without its hash.
func (k Key) Shown() Key { k.Hash = ""; return k }
