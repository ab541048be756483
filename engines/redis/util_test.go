package redis_test

import "fmt"

func seqN(format string, n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf(format, i)
	}
	return out
}

// diff compares got against want as multisets.
func diff(want, got []string) (missing, dups []string) {
	seen := map[string]int{}
	for _, g := range got {
		seen[g]++
	}
	for _, w := range want {
		switch n := seen[w]; {
		case n == 0:
			missing = append(missing, w)
		case n > 1:
			dups = append(dups, w)
		}
	}
	return missing, dups
}
