// SPDX-License-Identifier: GPL-2.0
/*
 * Expanded-size estimate of a regex (see regexcost.h): a walk with a cost
 * per nesting level; a bounded repetition multiplies the cost of the atom
 * or group before it, '+' doubles it; bracket expressions count as one.
 */
#include "regexcost.h"

bool regex_cost__exceeds(const char *re, uint64_t max_cost)
{
	uint64_t cost[REGEX_COST_MAX_DEPTH + 1] = { 0 }, last[REGEX_COST_MAX_DEPTH + 1] = { 0 };
	unsigned int depth = 0;
	const char *s;

	for (s = re; *s; s++) {
		uint64_t n = 0, m = 0;
		bool comma = false, has_m = false;
		const char *b;

		switch (*s) {
		case '(':
			if (++depth > REGEX_COST_MAX_DEPTH)
				return true;
			cost[depth] = last[depth] = 0;
			continue;
		case ')':
			if (!depth)
				break;
			depth--;
			last[depth] = cost[depth + 1] + 2;
			cost[depth] += last[depth];
			if (cost[depth] > max_cost)
				return true;
			continue;
		case '|':
			cost[depth]++;
			last[depth] = 0;
			continue;
		case '*':
		case '?':
			continue;	/* no copy: the atom is still the last one */
		case '+':
			cost[depth] += last[depth];
			last[depth] *= 2;
			if (cost[depth] > max_cost)
				return true;
			continue;
		case '\\':
			if (s[1])
				s++;
			break;
		case '[':
			b = s + 1;
			if (*b == '^')
				b++;
			if (*b == ']')
				b++;
			while (*b && *b != ']') {
				char c = b[1];

				if (*b == '[' && (c == ':' || c == '.' || c == '=')) {
					for (b += 2; *b && !(b[0] == c && b[1] == ']'); b++)
						;
					if (!*b)
						break;
					b++;
				}
				b++;
			}
			s = *b ? b : b - 1;
			break;
		case '{':
			/* saturating: any count past the limit fails */
			for (b = s + 1; *b >= '0' && *b <= '9'; b++)
				if (n <= max_cost)
					n = n * 10 + (uint64_t)(*b - '0');
			if (b == s + 1 && *b != ',')
				break;	/* not a bound ("{,m}" is one) */
			if (*b == ',') {
				comma = true;
				for (b++; *b >= '0' && *b <= '9'; b++, has_m = true)
					if (m <= max_cost)
						m = m * 10 + (uint64_t)(*b - '0');
			}
			if (*b != '}')
				break;
			n = comma ? (has_m ? m : n + 1) : n;
			if (n > max_cost)
				return true;
			if (n > 1) {
				cost[depth] += last[depth] * (n - 1);
				last[depth] *= n;
			}
			if (cost[depth] > max_cost)
				return true;
			s = b;
			continue;
		}
		cost[depth]++;
		last[depth] = 1;
		if (cost[depth] > max_cost)
			return true;
	}
	while (depth--)
		cost[depth] += cost[depth + 1];
	return cost[0] > max_cost;
}
