# ruff: noqa: E501  (rows are data: one instruction and one solution per entry read better unwrapped)
"""Honest same-task rows for the planted contamination set: written for it, not copied from a benchmark.

Each row teaches a task that HumanEval or MBPP's test split also asks (reverse a string, test for a prime,
GCD, median, vowels, Fibonacci, ...), in its own words and with its own code, so a detector that flags
them confuses "same task" with "leaked problem". The comment before each row names the benchmark problem
it overlaps with.
"""

from __future__ import annotations

HONEST: list[tuple[str, str]] = [
    # HumanEval/48, MBPP has palindrome tasks too
    ("Write a function that tells whether a word reads the same forwards and backwards. Ignore letter case.",
     "def reads_same(word):\n    w = word.lower()\n    i, j = 0, len(w) - 1\n    while i < j:\n        if w[i] != w[j]:\n            return False\n        i += 1\n        j -= 1\n    return True"),
    # HumanEval/31
    ("Decide if an integer is prime by trial division up to its square root.",
     "import math\n\ndef prime(num):\n    if num < 2:\n        return False\n    for d in range(2, math.isqrt(num) + 1):\n        if num % d == 0:\n            return False\n    return True"),
    # HumanEval/13, MBPP/45
    ("Implement Euclid's algorithm recursively to get the greatest common divisor of two non-negative integers.",
     "def gcd_rec(a, b):\n    return a if b == 0 else gcd_rec(b, a % b)"),
    # HumanEval/55
    ("Return the first n Fibonacci numbers as a list, starting 0, 1.",
     "def fib_list(n):\n    seq = [0, 1]\n    while len(seq) < n:\n        seq.append(seq[-1] + seq[-2])\n    return seq[:n]"),
    # HumanEval/47, MBPP/397
    ("Find the median value of a list of numbers using the statistics module.",
     "import statistics\n\ndef middle_value(values):\n    return statistics.median(values)"),
    # HumanEval/64
    ("Count how many characters of a text are vowels (a, e, i, o, u), treating upper and lower case alike.",
     "VOWELS = set('aeiouAEIOU')\n\ndef vowel_total(text):\n    total = 0\n    for ch in text:\n        if ch in VOWELS:\n            total += 1\n    return total"),
    # HumanEval/23
    ("Without using len(), compute how many characters a string has.",
     "def length_of(s):\n    count = 0\n    for _ in s:\n        count += 1\n    return count"),
    # HumanEval/35
    ("Write a function returning the largest number in a non-empty list without calling max().",
     "def biggest(nums):\n    best = nums[0]\n    for value in nums[1:]:\n        if value > best:\n            best = value\n    return best"),
    # HumanEval/34, MBPP/193
    ("Remove repeated values from a list and return the distinct values in ascending order.",
     "def distinct_sorted(items):\n    return sorted(set(items))"),
    # HumanEval/28, MBPP/421
    ("Join a list of words into one string separated by single spaces.",
     "def join_words(words):\n    return ' '.join(words)"),
    # HumanEval/42
    ("Add one to every number in a list, using map.",
     "def bump(nums):\n    return list(map(lambda v: v + 1, nums))"),
    # HumanEval/53, MBPP/309
    ("Write a tiny calculator function that takes two numbers and an operator symbol and returns the result.",
     "def calc(a, b, op):\n    ops = {'+': a + b, '-': a - b, '*': a * b}\n    if op == '/':\n        return a / b\n    return ops[op]"),
    # HumanEval/27
    ("Swap the case of every letter in a sentence; leave digits and punctuation alone.",
     "def swap_letters(sentence):\n    out = []\n    for ch in sentence:\n        out.append(ch.lower() if ch.isupper() else ch.upper())\n    return ''.join(out)"),
    # HumanEval/79, MBPP/33, MBPP/99
    ("Convert a non-negative integer to its binary representation as a string, without using bin().",
     "def to_binary(n):\n    if n == 0:\n        return '0'\n    bits = ''\n    while n:\n        bits = str(n % 2) + bits\n        n //= 2\n    return bits"),
    # MBPP/467
    ("Turn a decimal integer into an octal string using repeated division by eight.",
     "def octal(n):\n    digits = []\n    while n > 0:\n        digits.append(str(n % 8))\n        n //= 8\n    return ''.join(reversed(digits)) or '0'"),
    # HumanEval/26, MBPP has duplicate-removal tasks too
    ("Keep only the first occurrence of each element of a list, preserving order, using a dict.",
     "def first_occurrences(seq):\n    return list(dict.fromkeys(seq))"),
    # MBPP/297
    ("Flatten a list that may contain lists nested to any depth, using an explicit stack instead of recursion.",
     "def flat(data):\n    stack, out = [data], []\n    while stack:\n        top = stack.pop()\n        if isinstance(top, list):\n            stack.extend(reversed(top))\n        else:\n            out.append(top)\n    return out"),
    # MBPP/411
    ("Convert snake_case text such as 'hello_big_world' into CamelCase ('HelloBigWorld').",
     "def to_camel(name):\n    return ''.join(part.capitalize() for part in name.split('_'))"),
    # MBPP/263, MBPP/87
    ("Combine two dictionaries into a new one; keys of the second win on conflicts.",
     "def combined(d1, d2):\n    result = dict(d1)\n    result.update(d2)\n    return result"),
    # MBPP/487
    ("Sort a list of tuples by their last item, largest first.",
     "def by_last_desc(pairs):\n    return sorted(pairs, key=lambda t: t[-1], reverse=True)"),
    # MBPP/461
    ("Count the capital letters in a string with a generator expression.",
     "def capitals(s):\n    return sum(1 for c in s if 'A' <= c <= 'Z')"),
    # MBPP/477
    ("Make every letter of a string lowercase without str.lower, using ord and chr.",
     "def lower_manual(s):\n    return ''.join(chr(ord(c) + 32) if 'A' <= c <= 'Z' else c for c in s)"),
    # MBPP/435, MBPP/479
    ("Return the first and the last digit of a positive integer as a pair.",
     "def ends(n):\n    s = str(n)\n    return int(s[0]), int(s[-1])"),
    # MBPP/365
    ("How many digits does an integer have? Handle negative numbers and zero.",
     "def digit_count(n):\n    n = abs(n)\n    count = 1\n    while n >= 10:\n        n //= 10\n        count += 1\n    return count"),
    # MBPP/139, MBPP/499
    ("Given a circle's radius, print its circumference and its diameter.",
     "import math\n\ndef circle_info(r):\n    print('diameter', 2 * r)\n    print('circumference', 2 * math.pi * r)"),
    # MBPP/85, MBPP/441
    ("Compute the surface area of a sphere and of a cube from their sizes.",
     "from math import pi\n\ndef sphere_area(radius):\n    return 4 * pi * radius ** 2\n\ndef cube_area(side):\n    return 6 * side * side"),
    # MBPP/17, MBPP/171
    ("Write a function that returns the perimeter of a regular polygon from the number of sides and the side length.",
     "def polygon_perimeter(sides, length):\n    return sides * length"),
    # MBPP/257
    ("Swap two variables in Python without a temporary variable and return them.",
     "def swapped(a, b):\n    a, b = b, a\n    return a, b"),
    # MBPP/227
    ("Return the smallest of three values using comparisons only.",
     "def min3(x, y, z):\n    smallest = x\n    if y < smallest:\n        smallest = y\n    if z < smallest:\n        smallest = z\n    return smallest"),
    # MBPP/175, HumanEval/56, HumanEval/61
    ("Check that round brackets in an expression are balanced using a counter.",
     "def parens_ok(expr):\n    depth = 0\n    for ch in expr:\n        if ch == '(':\n            depth += 1\n        elif ch == ')':\n            depth -= 1\n            if depth < 0:\n                return False\n    return depth == 0"),
    # MBPP/181
    ("Find the longest common prefix of several strings by sorting them and comparing the first and last.",
     "def common_start(strs):\n    if not strs:\n        return ''\n    a, b = min(strs), max(strs)\n    i = 0\n    while i < len(a) and a[i] == b[i]:\n        i += 1\n    return a[:i]"),
    # MBPP/451
    ("Remove all whitespace characters from a string without regular expressions.",
     "def squeeze(text):\n    return ''.join(text.split())"),
    # MBPP/505
    ("Move every zero in a list to the end while keeping the order of the other numbers.",
     "def zeros_last(nums):\n    non_zero = [n for n in nums if n != 0]\n    return non_zero + [0] * (len(nums) - len(non_zero))"),
    # HumanEval/30, MBPP/313
    ("Keep only the numbers greater than zero from a list of integers.",
     "def positives(values):\n    result = []\n    for v in values:\n        if v > 0:\n            result.append(v)\n    return result"),
    # MBPP/329
    ("Count the negative entries in a list of numbers.",
     "def negatives(values):\n    return len([v for v in values if v < 0])"),
    # HumanEval/60, MBPP/267
    ("Sum the integers from 1 to n with the closed-form formula.",
     "def triangular(n):\n    return n * (n + 1) // 2"),
    # HumanEval/25, HumanEval/59
    ("List the prime factors of a positive integer, with repetition, smallest first.",
     "def prime_factors(n):\n    factors, p = [], 2\n    while p * p <= n:\n        while n % p == 0:\n            factors.append(p)\n            n //= p\n        p += 1\n    if n > 1:\n        factors.append(n)\n    return factors"),
    # HumanEval/156
    ("Convert an integer between 1 and 3999 to Roman numerals in upper case.",
     "def roman(num):\n    table = [(1000, 'M'), (900, 'CM'), (500, 'D'), (400, 'CD'), (100, 'C'), (90, 'XC'),\n             (50, 'L'), (40, 'XL'), (10, 'X'), (9, 'IX'), (5, 'V'), (4, 'IV'), (1, 'I')]\n    out = ''\n    for value, sym in table:\n        count, num = divmod(num, value)\n        out += sym * count\n    return out"),
    # HumanEval/162
    ("Return the SHA-256 hex digest of a UTF-8 string.",
     "import hashlib\n\ndef sha(text):\n    return hashlib.sha256(text.encode('utf-8')).hexdigest()"),
    # HumanEval/18
    ("Count the occurrences of a substring in a string, allowing overlaps, using str.find in a loop.",
     "def overlapping(text, sub):\n    count, start = 0, text.find(sub)\n    while start != -1:\n        count += 1\n        start = text.find(sub, start + 1)\n    return count"),
    # HumanEval/16
    ("How many different letters appear in a word if case is ignored?",
     "def letters_used(word):\n    return len({c.lower() for c in word})"),
    # HumanEval/14
    ("Produce every prefix of a string, shortest first.",
     "def prefixes(s):\n    out = []\n    for end in range(1, len(s) + 1):\n        out.append(s[:end])\n    return out"),
    # HumanEval/12
    ("Return the longest string in a list (the first one if several are equally long), or None for an empty list.",
     "def longest_word(words):\n    best = None\n    for w in words:\n        if best is None or len(w) > len(best):\n            best = w\n    return best"),
    # HumanEval/57
    ("Check whether a list of numbers is sorted, either non-decreasing or non-increasing.",
     "def is_monotone(xs):\n    pairs = list(zip(xs, xs[1:]))\n    return all(a <= b for a, b in pairs) or all(a >= b for a, b in pairs)"),
    # HumanEval/8
    ("Return both the sum and the product of a list of integers as a tuple; the empty list gives (0, 1).",
     "from functools import reduce\nimport operator\n\ndef sum_and_product(nums):\n    return sum(nums), reduce(operator.mul, nums, 1)"),
    # HumanEval/0
    ("Given a list of floats and a tolerance, report whether any two of them differ by less than the tolerance. Sort first so only neighbours need comparing.",
     "def any_close(values, tol):\n    s = sorted(values)\n    return any(b - a < tol for a, b in zip(s, s[1:]))"),
    # HumanEval/5
    ("Put a separator value between each pair of adjacent items of a list.",
     "def interleave(items, sep):\n    out = []\n    for k, item in enumerate(items):\n        if k:\n            out.append(sep)\n        out.append(item)\n    return out"),
    # HumanEval/9
    ("For a list of numbers, return the running maximum at each position.",
     "from itertools import accumulate\n\ndef running_max(nums):\n    return list(accumulate(nums, max))"),
    # HumanEval/97
    ("Multiply the last digits of two integers.",
     "def last_digit_product(a, b):\n    return (abs(a) % 10) * (abs(b) % 10)"),
    # MBPP/221
    ("Find the first even number in a list, or -1 if there is none.",
     "def first_even(nums):\n    return next((n for n in nums if n % 2 == 0), -1)"),
    # MBPP/131
    ("Reverse the order of the vowels in a word, leaving consonants where they are.",
     "def flip_vowels(word):\n    chars = list(word)\n    idx = [i for i, c in enumerate(chars) if c.lower() in 'aeiou']\n    vals = [chars[i] for i in idx][::-1]\n    for i, v in zip(idx, vals):\n        chars[i] = v\n    return ''.join(chars)"),
    # MBPP/19
    ("Does a list contain any value twice? Return a boolean.",
     "def has_dupes(values):\n    return len(values) != len(set(values))"),
    # MBPP/127
    ("Multiply two non-negative integers using only addition and bit shifts.",
     "def mul(a, b):\n    result = 0\n    while b:\n        if b & 1:\n            result += a\n        a <<= 1\n        b >>= 1\n    return result"),
    # MBPP/203
    ("Compute the number of positions at which the bits of two integers differ.",
     "def bit_diff(a, b):\n    return bin(a ^ b).count('1')"),
    # MBPP/395, MBPP/217
    ("Return the first character of a string that never repeats, or None.",
     "from collections import Counter\n\ndef unique_char(s):\n    counts = Counter(s)\n    for ch in s:\n        if counts[ch] == 1:\n            return ch\n    return None"),
    # MBPP/225
    ("Find the minimum of a sorted array that was rotated at an unknown pivot, in O(log n).",
     "def rotated_min(arr):\n    lo, hi = 0, len(arr) - 1\n    while lo < hi:\n        mid = (lo + hi) // 2\n        if arr[mid] > arr[hi]:\n            lo = mid + 1\n        else:\n            hi = mid\n    return arr[lo]"),
    # MBPP/195
    ("Use the bisect module to find the index of the first occurrence of a value in a sorted list, or -1.",
     "from bisect import bisect_left\n\ndef first_index(arr, x):\n    i = bisect_left(arr, x)\n    return i if i < len(arr) and arr[i] == x else -1"),
    # MBPP/463
    ("Find the largest product of a contiguous run of a list of integers (values may be negative).",
     "def max_run_product(nums):\n    best = hi = lo = nums[0]\n    for n in nums[1:]:\n        cands = (n, hi * n, lo * n)\n        hi, lo = max(cands), min(cands)\n        best = max(best, hi)\n    return best"),
    # MBPP/187
    ("Length of the longest common subsequence of two strings, with a dynamic-programming table.",
     "def lcs_len(a, b):\n    dp = [[0] * (len(b) + 1) for _ in range(len(a) + 1)]\n    for i in range(1, len(a) + 1):\n        for j in range(1, len(b) + 1):\n            dp[i][j] = dp[i - 1][j - 1] + 1 if a[i - 1] == b[j - 1] else max(dp[i - 1][j], dp[i][j - 1])\n    return dp[-1][-1]"),
    # MBPP/247
    ("Length of the longest palindromic subsequence of a string, using memoised recursion.",
     "from functools import lru_cache\n\ndef lps(s):\n    @lru_cache(maxsize=None)\n    def go(i, j):\n        if i > j:\n            return 0\n        if i == j:\n            return 1\n        if s[i] == s[j]:\n            return 2 + go(i + 1, j - 1)\n        return max(go(i + 1, j), go(i, j - 1))\n    return go(0, len(s) - 1)"),
    # MBPP/71, MBPP/141 (other sorting algorithms)
    ("Implement insertion sort on a list of numbers, in place, and return the list.",
     "def insertion_sort(a):\n    for i in range(1, len(a)):\n        key = a[i]\n        j = i - 1\n        while j >= 0 and a[j] > key:\n            a[j + 1] = a[j]\n            j -= 1\n        a[j + 1] = key\n    return a"),
    # MBPP/59, MBPP/135, MBPP/279 (figurate numbers)
    ("Return the n-th pentagonal number.",
     "def pentagonal(n):\n    return n * (3 * n - 1) // 2"),
    # HumanEval/2
    ("Split a positive float into its integer part and its fractional part.",
     "import math\n\ndef split_float(x):\n    frac, whole = math.modf(x)\n    return int(whole), frac"),
    # HumanEval/11
    ("XOR two equal-length bit strings character by character.",
     "def xor_bits(a, b):\n    return ''.join('1' if x != y else '0' for x, y in zip(a, b))"),
    # HumanEval/29, HumanEval/7
    ("Return the words of a list that begin with a given letter, case-insensitively.",
     "def starting_with(words, letter):\n    letter = letter.lower()\n    return [w for w in words if w[:1].lower() == letter]"),
    # HumanEval/15
    ("Print the numbers 0 to n separated by commas.",
     "def print_upto(n):\n    print(','.join(str(i) for i in range(n + 1)))"),
]
