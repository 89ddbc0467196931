package loadgen

import "bytes"

// jsonNumberAt returns the value of the last member named key at nesting
// depth depth (1: members of the top-level object) of the JSON document b,
// if it is a non-negative integer. It skims the bytes in place, without
// decoding: the long-poll receivers read their position out of every answer
// with it (native "next", Zulip's event "id").
func jsonNumberAt(b []byte, depth int, key string) (uint64, bool) {
	var (
		d     int
		val   uint64
		found bool
	)
	for i := 0; i < len(b); i++ {
		switch b[i] {
		case '{', '[':
			d++
		case '}', ']':
			d--
		case '"':
			end := stringEnd(b, i+1)
			if end < 0 {
				return val, found
			}
			name := b[i+1 : end]
			i = end
			if d != depth || string(name) != key {
				continue
			}
			j := skipSpace(b, end+1)
			if j >= len(b) || b[j] != ':' {
				continue // a string value, not a member name
			}
			j = skipSpace(b, j+1)
			n, k := uint64(0), j
			for k < len(b) && '0' <= b[k] && b[k] <= '9' && k-j < 19 {
				n = n*10 + uint64(b[k]-'0')
				k++
			}
			if k > j {
				val, found = n, true
			}
			i = k - 1
		}
	}
	return val, found
}

// stringEnd returns the index of the quote that closes the JSON string
// starting at b[from], or -1.
func stringEnd(b []byte, from int) int {
	for {
		j := bytes.IndexByte(b[from:], '"')
		if j < 0 {
			return -1
		}
		j += from
		bs := 0
		for k := j - 1; k >= from && b[k] == '\\'; k-- {
			bs++
		}
		if bs%2 == 0 {
			return j
		}
		from = j + 1
	}
}

func skipSpace(b []byte, i int) int {
	for i < len(b) && (b[i] == ' ' || b[i] == '\t' || b[i] == '\n' || b[i] == '\r') {
		i++
	}
	return i
}
