package vault

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"io"
	"math"
	"time"
)

const saltSize = 16

// maxDraws bounds rejection sampling. A uniform source is rejected with
// probability below 10^18/2^64 < 6%, so 64 rejections in a row (< 2^-250)
// mean the source is broken, not unlucky.
const maxDraws = 64

// pow10 returns 10^n for 0 <= n <= 19.
func pow10(n int) uint64 {
	p := uint64(1)
	for range n {
		p *= 10
	}
	return p
}

// newCode draws a code of the policy's digits uniformly from the random
// source and returns it with its activation record.
func (s *Service) newCode(now time.Time) (string, *Activation, error) {
	n := pow10(s.policy.Digits)
	// Rejection sampling: accept x only below the largest multiple of n
	// that fits in a uint64, so that x % n has no bias.
	limit := math.MaxUint64 - math.MaxUint64%n
	// One allocation holds the salt and then the hash. The random number
	// is read into the hash's place, where the hash overwrites it: the
	// code never stays in memory the vault keeps.
	secret := make([]byte, saltSize+sha256.Size)
	var x uint64
	for draws := 0; ; draws++ {
		if draws == maxDraws {
			return "", nil, fmt.Errorf("random source gave %d values in a row above %d: it is not random", maxDraws, limit)
		}
		if _, err := io.ReadFull(s.random, secret[:saltSize+8]); err != nil {
			return "", nil, fmt.Errorf("reading random source for an activation code: %w", err)
		}
		if x = binary.LittleEndian.Uint64(secret[saltSize:]); x < limit {
			break
		}
	}
	code := formatCode(x%n, s.policy.Digits)
	salt, hash := secret[:saltSize:saltSize], secret[saltSize:]
	sum := s.hashCode(salt, code)
	copy(hash, sum[:])
	return code, &Activation{
		Salt:      salt,
		Hash:      hash,
		IssuedAt:  now,
		ExpiresAt: now.Add(s.policy.TTL),
	}, nil
}

// formatCode writes x in decimal, zero-padded to digits.
func formatCode(x uint64, digits int) string {
	var b [20]byte
	for i := digits - 1; i >= 0; i-- {
		b[i] = byte('0' + x%10)
		x /= 10
	}
	return string(b[:digits])
}

// hashCode returns SHA-256(salt || code), or HMAC-SHA-256(key, salt ||
// code) when the service has a key ([WithCodeKey]).
func (s *Service) hashCode(salt []byte, code string) [sha256.Size]byte {
	if s.key != nil {
		return s.hmacCode(salt, code)
	}
	var buf [64]byte // salt and code fit; append moves to the heap if not
	return sha256.Sum256(append(append(buf[:0], salt...), code...))
}

func (s *Service) hmacCode(salt []byte, code string) (sum [sha256.Size]byte) {
	m := hmac.New(sha256.New, s.key)
	m.Write(salt)
	m.Write([]byte(code))
	copy(sum[:], m.Sum(nil))
	return sum
}

// codeMatches compares code with the activation's hash in constant time.
func (s *Service) codeMatches(a *Activation, code string) bool {
	sum := s.hashCode(a.Salt, code)
	return hmac.Equal(sum[:], a.Hash)
}

// checkCode validates a code's shape without saying anything about its
// value: the code itself never appears in an error.
func (s *Service) checkCode(code string) error {
	if len(code) != s.policy.Digits {
		return fmt.Errorf("activation code must be %d digits, got %d characters: %w", s.policy.Digits, len(code), ErrInvalidArgument)
	}
	for i := 0; i < len(code); i++ {
		if code[i] < '0' || code[i] > '9' {
			return fmt.Errorf("activation code must be %d ASCII digits: %w", s.policy.Digits, ErrInvalidArgument)
		}
	}
	return nil
}
