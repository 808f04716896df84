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
	var buf [8 + saltSize]byte
	var x uint64
	for {
		if _, err := io.ReadFull(s.random, buf[:]); err != nil {
			return "", nil, fmt.Errorf("reading random source for an activation code: %w", err)
		}
		if x = binary.LittleEndian.Uint64(buf[:8]); x < limit {
			break
		}
	}
	code := formatCode(x%n, s.policy.Digits)
	secret := make([]byte, saltSize, saltSize+sha256.Size) // salt, then hash, in one allocation
	copy(secret, buf[8:])
	sum := s.hashCode(secret, code)
	return code, &Activation{
		Salt:      secret[:saltSize:saltSize],
		Hash:      append(secret[saltSize:], sum[:]...),
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
func (s *Service) hashCode(salt []byte, code string) (sum [sha256.Size]byte) {
	if s.key == nil {
		b := make([]byte, 0, 64)
		b = append(append(b, salt...), code...)
		return sha256.Sum256(b)
	}
	m := hmac.New(sha256.New, s.key)
	m.Write(salt)
	m.Write([]byte(code))
	m.Sum(sum[:0])
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
