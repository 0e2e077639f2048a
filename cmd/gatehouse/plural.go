package main

import "fmt"

// count is n and the noun, singular for one: "1 call", "2 calls". many
// is the plural when it is not noun+"s" ("1 policy", "2 policies").
func count(n int, noun string, many ...string) string {
	if n == 1 {
		return fmt.Sprintf("%d %s", n, noun)
	}
	if len(many) > 0 {
		return fmt.Sprintf("%d %s", n, many[0])
	}
	return fmt.Sprintf("%d %ss", n, noun)
}
