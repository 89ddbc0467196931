package loadgen

import "bytes"

// jsonNumberAt returns the value of the last member named key at nesting
// depth depth (1: members of the top-level object) of the JSON document b,
// if it is a non-negative integer. It skims the bytes in place, without
// decoding: the long-poll receivers read their position out of every answer
// with it (native "next", Zulip's event "id").
func jsonNumberAt(b []byte, depth int, key string) (uint64, bool) {
	j, ok := jsonValueAt(b, depth, key)
	if !ok {
		return 0, false
	}
	n, k := uint64(0), j
	for k < len(b) && '0' <= b[k] && b[k] <= '9' && k-j < 19 {
		n = n*10 + uint64(b[k]-'0')
		k++
	}
	return n, k > j
}

// jsonStringAt is jsonNumberAt for a string value: its bytes as they stand
// between the quotes (escapes are kept; the ids read with it have none).
// The result shares b's memory.
func jsonStringAt(b []byte, depth int, key string) ([]byte, bool) {
	j, ok := jsonValueAt(b, depth, key)
	if !ok || b[j] != '"' {
		return nil, false
	}
	end := stringEnd(b, j+1)
	if end < 0 {
		return nil, false
	}
	return b[j+1 : end], true
}

// jsonValueAt returns the index in b where the value of the last member
// named key at depth depth starts.
func jsonValueAt(b []byte, depth int, key string) (int, bool) {
	d, at, found := 0, 0, false
	for i := 0; i < len(b); i++ {
		switch b[i] {
		case '{', '[':
			d++
		case '}', ']':
			d--
		case '"':
			end := stringEnd(b, i+1)
			if end < 0 {
				return at, found
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
			if j = skipSpace(b, j+1); j < len(b) {
				at, found = j, true
				i = j - 1 // the value is scanned on: a string is skipped whole
			}
		}
	}
	return at, found
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
