;; The scanner's skip loop (JsonScanner.skipHere in json-scan.ts) in WebAssembly, with 128-bit SIMD
;; for strings: most of a manifest is containers no reader asks for, and checking them is most of
;; reading it. It does exactly what skipHere does, token for token, and stops where skipHere
;; stops: after the container that closes back to a visited level, at the chunk's end, or at the
;; start of a token it leaves to the general path (one that crosses the chunk's end, a byte that is
;; not JSON, a level it has no room for). The general path reads those, and names what is wrong.
;; It exports three entries: skip (a container no reader asks for), string (a string's end), and
;; members (the members of a visited object that its key table does not name).
;;
;; Memory (json-skip.ts fills the tables and copies each chunk in):
;;   0..255      HEX: 1 for a hex digit
;;   256..511    ESCAPES: 1 for a character a backslash may escape
;;   512..527    what a call leaves for the caller, four i32s: after skip, the state, the depth and
;;               the lowest level it wrote a kind for (the depth it came in at when it wrote none);
;;               after string, 1 at 524 when the string held an escape (memory, not globals: a
;;               global's value is read through a slow accessor)
;;   4096..8191  the kind of each open level, from the floor up (1 object, 2 array): 4096 levels
;;   8192..65535 key tables (json-skip.ts writes them): each name as a length byte and its bytes,
;;               a 0 ending the table
;;   65536..     the chunk, followed by 16 bytes a vector load may read past its end
;;
;; States (as in json-scan.ts): 1 VALUE, 2 VALUE_OR_END, 3 KEY_OR_END, 4 KEY, 5 COLON,
;; 6 COMMA_OR_END, 7 DONE.
;;
;; Rebuild json-skip-wasm.ts after changing this file: npm run build:wasm (a test checks they agree).
(module
  (memory (export "memory") 2)

  ;; A string's content from $q: the position after its closing quote, or -1 (it goes on past $end,
  ;; or holds a control character or a bad escape). Sixteen bytes at a time: the first quote,
  ;; backslash or control character among them is found by one comparison of each kind and a ctz.
  (func $string (export "string") (param $q i32) (param $end i32) (result i32)
    (local $v v128) (local $m i32) (local $c i32)
    (i32.store offset=524 (i32.const 0) (i32.const 0))
    (block $fail
      (loop $scan
        (local.set $v (v128.load (local.get $q)))
        (local.set $m
          (i8x16.bitmask
            (v128.or
              (v128.or
                (i8x16.eq (local.get $v) (v128.const i8x16 0x22 0x22 0x22 0x22 0x22 0x22 0x22 0x22 0x22 0x22 0x22 0x22 0x22 0x22 0x22 0x22))
                (i8x16.eq (local.get $v) (v128.const i8x16 0x5c 0x5c 0x5c 0x5c 0x5c 0x5c 0x5c 0x5c 0x5c 0x5c 0x5c 0x5c 0x5c 0x5c 0x5c 0x5c)))
              (i8x16.lt_u (local.get $v) (v128.const i8x16 0x20 0x20 0x20 0x20 0x20 0x20 0x20 0x20 0x20 0x20 0x20 0x20 0x20 0x20 0x20 0x20)))))
        (if (i32.eqz (local.get $m))
          (then
            (local.set $q (i32.add (local.get $q) (i32.const 16)))
            (br_if $scan (i32.lt_u (local.get $q) (local.get $end)))
            (br $fail)))
        (local.set $q (i32.add (local.get $q) (i32.ctz (local.get $m))))
        ;; A stop past the end is in bytes of an earlier chunk: the string goes on.
        (br_if $fail (i32.ge_u (local.get $q) (local.get $end)))
        (local.set $c (i32.load8_u (local.get $q)))
        (if (i32.eq (local.get $c) (i32.const 0x22))
          (then (return (i32.add (local.get $q) (i32.const 1)))))
        (br_if $fail (i32.ne (local.get $c) (i32.const 0x5c)))
        ;; An escape: \X, or \uXXXX, whole within the chunk.
        (i32.store offset=524 (i32.const 0) (i32.const 1))
        (br_if $fail (i32.ge_u (i32.add (local.get $q) (i32.const 1)) (local.get $end)))
        (local.set $c (i32.load8_u offset=1 (local.get $q)))
        (br_if $fail (i32.eqz (i32.load8_u offset=256 (local.get $c))))
        (if (i32.eq (local.get $c) (i32.const 0x75))
          (then
            (br_if $fail (i32.gt_u (i32.add (local.get $q) (i32.const 6)) (local.get $end)))
            (br_if $fail
              (i32.eqz
                (i32.and
                  (i32.and
                    (i32.load8_u (i32.load8_u offset=2 (local.get $q)))
                    (i32.load8_u (i32.load8_u offset=3 (local.get $q))))
                  (i32.and
                    (i32.load8_u (i32.load8_u offset=4 (local.get $q)))
                    (i32.load8_u (i32.load8_u offset=5 (local.get $q)))))))
            (local.set $q (i32.add (local.get $q) (i32.const 6))))
          (else (local.set $q (i32.add (local.get $q) (i32.const 2)))))
        (br $scan)))
    (i32.const -1))

  (func $digit (param $c i32) (result i32)
    (i32.lt_u (i32.sub (local.get $c) (i32.const 0x30)) (i32.const 10)))

  ;; Where a number starting at $i ends, when it is valid JSON and the byte after it is in the chunk
  ;; and not part of it, else -1 (numberEnd in json-scan.ts).
  (func $number (param $i i32) (param $end i32) (result i32)
    (local $k i32) (local $c i32)
    (local.set $k (local.get $i))
    (if (i32.eq (i32.load8_u (local.get $k)) (i32.const 0x2d))
      (then (local.set $k (i32.add (local.get $k) (i32.const 1)))))
    (if (i32.ge_u (local.get $k) (local.get $end)) (then (return (i32.const -1))))
    (local.set $c (i32.load8_u (local.get $k)))
    (if (i32.eqz (call $digit (local.get $c))) (then (return (i32.const -1))))
    (local.set $k (i32.add (local.get $k) (i32.const 1)))
    (if (i32.ne (local.get $c) (i32.const 0x30))
      (then
        (block $done
          (loop $int
            (br_if $done (i32.ge_u (local.get $k) (local.get $end)))
            (br_if $done (i32.eqz (call $digit (i32.load8_u (local.get $k)))))
            (local.set $k (i32.add (local.get $k) (i32.const 1)))
            (br $int)))))
    (if (i32.and (i32.lt_u (local.get $k) (local.get $end)) (i32.eq (i32.load8_u (local.get $k)) (i32.const 0x2e)))
      (then
        (local.set $k (i32.add (local.get $k) (i32.const 1)))
        (if (i32.ge_u (local.get $k) (local.get $end)) (then (return (i32.const -1))))
        (if (i32.eqz (call $digit (i32.load8_u (local.get $k)))) (then (return (i32.const -1))))
        (block $done
          (loop $frac
            (br_if $done (i32.ge_u (local.get $k) (local.get $end)))
            (br_if $done (i32.eqz (call $digit (i32.load8_u (local.get $k)))))
            (local.set $k (i32.add (local.get $k) (i32.const 1)))
            (br $frac)))))
    (if (i32.and (i32.lt_u (local.get $k) (local.get $end))
                 (i32.eq (i32.or (i32.load8_u (local.get $k)) (i32.const 0x20)) (i32.const 0x65)))
      (then
        (local.set $k (i32.add (local.get $k) (i32.const 1)))
        (if (i32.lt_u (local.get $k) (local.get $end))
          (then
            (local.set $c (i32.load8_u (local.get $k)))
            (if (i32.or (i32.eq (local.get $c) (i32.const 0x2b)) (i32.eq (local.get $c) (i32.const 0x2d)))
              (then (local.set $k (i32.add (local.get $k) (i32.const 1)))))))
        (if (i32.ge_u (local.get $k) (local.get $end)) (then (return (i32.const -1))))
        (if (i32.eqz (call $digit (i32.load8_u (local.get $k)))) (then (return (i32.const -1))))
        (block $done
          (loop $exp
            (br_if $done (i32.ge_u (local.get $k) (local.get $end)))
            (br_if $done (i32.eqz (call $digit (i32.load8_u (local.get $k)))))
            (local.set $k (i32.add (local.get $k) (i32.const 1)))
            (br $exp)))))
    (if (i32.ge_u (local.get $k) (local.get $end)) (then (return (i32.const -1))))
    (if (call $digit (i32.load8_u (local.get $k))) (then (return (i32.const -1))))
    (local.get $k))

  ;; Where true, false or null starting at $i ends, when it is whole within the chunk, else -1.
  (func $literal (param $i i32) (param $end i32) (param $b i32) (result i32)
    (if (i32.eq (local.get $b) (i32.const 0x66))
      (then
        (if (i32.gt_u (i32.add (local.get $i) (i32.const 5)) (local.get $end)) (then (return (i32.const -1))))
        ;; "alse", little-endian
        (if (i32.ne (i32.load offset=1 align=1 (local.get $i)) (i32.const 0x65736c61)) (then (return (i32.const -1))))
        (return (i32.add (local.get $i) (i32.const 5)))))
    (if (i32.gt_u (i32.add (local.get $i) (i32.const 4)) (local.get $end)) (then (return (i32.const -1))))
    ;; "true" and "null", little-endian
    (if (i32.eq (i32.load align=1 (local.get $i))
                (select (i32.const 0x65757274) (i32.const 0x6c6c756e) (i32.eq (local.get $b) (i32.const 0x74))))
      (then (return (i32.add (local.get $i) (i32.const 4)))))
    (i32.const -1))

  ;; Checks from $p (in memory) to $end, inside containers from $floor + 1 to $depth deep, in
  ;; $state; never opens a level at $limit or deeper. Returns where it stopped; the state, the
  ;; depth and the lowest level written are at 512.
  (func $skip (export "skip") (param $p i32) (param $end i32) (param $state i32) (param $depth i32)
    (param $floor i32) (param $limit i32) (result i32)
    (local $b i32) (local $kind i32) (local $e i32) (local $low i32)
    (local.set $low (local.get $depth))
    (local.set $kind (i32.load8_u offset=4095 (i32.sub (local.get $depth) (local.get $floor))))
    (block $out
      (loop $top
        (br_if $out (i32.ge_u (local.get $p) (local.get $end)))
        (local.set $b (i32.load8_u (local.get $p)))
        (block $other
          ;; COMMA_OR_END
          (if (i32.eq (local.get $state) (i32.const 6))
            (then
              (if (i32.eq (local.get $b) (i32.const 0x2c))
                (then
                  (local.set $state (select (i32.const 4) (i32.const 1) (i32.eq (local.get $kind) (i32.const 1))))
                  (local.set $p (i32.add (local.get $p) (i32.const 1)))
                  (br $top)))
              (if (i32.or
                    (i32.and (i32.eq (local.get $b) (i32.const 0x7d)) (i32.eq (local.get $kind) (i32.const 1)))
                    (i32.and (i32.eq (local.get $b) (i32.const 0x5d)) (i32.eq (local.get $kind) (i32.const 2))))
                (then
                  (local.set $p (i32.add (local.get $p) (i32.const 1)))
                  (local.set $depth (i32.sub (local.get $depth) (i32.const 1)))
                  (if (i32.le_u (local.get $depth) (local.get $floor))
                    (then
                      (local.set $state (select (i32.const 6) (i32.const 7) (local.get $depth)))
                      (br $out)))
                  (local.set $kind (i32.load8_u offset=4095 (i32.sub (local.get $depth) (local.get $floor))))
                  (br $top)))
              (br $other)))
          ;; KEY, KEY_OR_END
          (if (i32.or (i32.eq (local.get $state) (i32.const 4)) (i32.eq (local.get $state) (i32.const 3)))
            (then
              (if (i32.eq (local.get $b) (i32.const 0x22))
                (then
                  (local.set $e (call $string (i32.add (local.get $p) (i32.const 1)) (local.get $end)))
                  (br_if $out (i32.lt_s (local.get $e) (i32.const 0)))
                  (local.set $p (local.get $e))
                  ;; The colon, nearly always right after the key.
                  (if (i32.and (i32.lt_u (local.get $p) (local.get $end)) (i32.eq (i32.load8_u (local.get $p)) (i32.const 0x3a)))
                    (then
                      (local.set $p (i32.add (local.get $p) (i32.const 1)))
                      (local.set $state (i32.const 1)))
                    (else (local.set $state (i32.const 5))))
                  (br $top)))
              (if (i32.and (i32.eq (local.get $b) (i32.const 0x7d)) (i32.eq (local.get $state) (i32.const 3)))
                (then
                  (local.set $p (i32.add (local.get $p) (i32.const 1)))
                  (local.set $depth (i32.sub (local.get $depth) (i32.const 1)))
                  (local.set $state (i32.const 6))
                  (if (i32.le_u (local.get $depth) (local.get $floor))
                    (then
                      (if (i32.eqz (local.get $depth)) (then (local.set $state (i32.const 7))))
                      (br $out)))
                  (local.set $kind (i32.load8_u offset=4095 (i32.sub (local.get $depth) (local.get $floor))))
                  (br $top)))
              (br $other)))
          ;; COLON
          (if (i32.eq (local.get $state) (i32.const 5))
            (then
              (if (i32.eq (local.get $b) (i32.const 0x3a))
                (then
                  (local.set $state (i32.const 1))
                  (local.set $p (i32.add (local.get $p) (i32.const 1)))
                  (br $top)))
              (br $other)))
          ;; VALUE, VALUE_OR_END
          (if (i32.eq (local.get $b) (i32.const 0x22))
            (then
              (local.set $e (call $string (i32.add (local.get $p) (i32.const 1)) (local.get $end)))
              (br_if $out (i32.lt_s (local.get $e) (i32.const 0)))
              (local.set $p (local.get $e))
              (local.set $state (i32.const 6))
              (br $top)))
          (if (i32.eq (i32.or (local.get $b) (i32.const 0x20)) (i32.const 0x7b))
            (then
              ;; { or [: no room for another level, the general path opens it.
              (br_if $out (i32.ge_u (local.get $depth) (local.get $limit)))
              (local.set $kind (select (i32.const 1) (i32.const 2) (i32.eq (local.get $b) (i32.const 0x7b))))
              (i32.store8 offset=4096 (i32.sub (local.get $depth) (local.get $floor)) (local.get $kind))
              (if (i32.lt_u (local.get $depth) (local.get $low)) (then (local.set $low (local.get $depth))))
              (local.set $depth (i32.add (local.get $depth) (i32.const 1)))
              (local.set $state (select (i32.const 3) (i32.const 2) (i32.eq (local.get $kind) (i32.const 1))))
              (local.set $p (i32.add (local.get $p) (i32.const 1)))
              (br $top)))
          (if (i32.and (i32.eq (local.get $b) (i32.const 0x5d)) (i32.eq (local.get $state) (i32.const 2)))
            (then
              (local.set $p (i32.add (local.get $p) (i32.const 1)))
              (local.set $depth (i32.sub (local.get $depth) (i32.const 1)))
              (local.set $state (i32.const 6))
              (if (i32.le_u (local.get $depth) (local.get $floor))
                (then
                  (if (i32.eqz (local.get $depth)) (then (local.set $state (i32.const 7))))
                  (br $out)))
              (local.set $kind (i32.load8_u offset=4095 (i32.sub (local.get $depth) (local.get $floor))))
              (br $top)))
          (if (i32.or (i32.eq (local.get $b) (i32.const 0x2d)) (call $digit (local.get $b)))
            (then
              (local.set $e (call $number (local.get $p) (local.get $end)))
              (br_if $out (i32.lt_s (local.get $e) (i32.const 0)))
              (local.set $p (local.get $e))
              (local.set $state (i32.const 6))
              (br $top)))
          (if (i32.or (i32.or (i32.eq (local.get $b) (i32.const 0x74)) (i32.eq (local.get $b) (i32.const 0x66)))
                      (i32.eq (local.get $b) (i32.const 0x6e)))
            (then
              (local.set $e (call $literal (local.get $p) (local.get $end) (local.get $b)))
              (br_if $out (i32.lt_s (local.get $e) (i32.const 0)))
              (local.set $p (local.get $e))
              (local.set $state (i32.const 6))
              (br $top))))
        ;; Whitespace between tokens; anything else is for the general path.
        (if (i32.or
              (i32.or (i32.eq (local.get $b) (i32.const 0x20)) (i32.eq (local.get $b) (i32.const 0x0a)))
              (i32.or (i32.eq (local.get $b) (i32.const 0x0d)) (i32.eq (local.get $b) (i32.const 0x09))))
          (then
            (local.set $p (i32.add (local.get $p) (i32.const 1)))
            (br $top)))))
    (i32.store offset=512 (i32.const 0) (local.get $state))
    (i32.store offset=516 (i32.const 0) (local.get $depth))
    (i32.store offset=520 (i32.const 0) (local.get $low))
    (local.get $p))

  ;; Which of the names of the table at $t the key [$from, $to) is, counted from 1; 0 for none.
  (func $known (param $t i32) (param $from i32) (param $to i32) (result i32)
    (local $n i32) (local $len i32) (local $k i32) (local $index i32)
    (local.set $len (i32.sub (local.get $to) (local.get $from)))
    (block $none
      (loop $name
        (local.set $n (i32.load8_u (local.get $t)))
        (br_if $none (i32.eqz (local.get $n)))
        (if (i32.eq (local.get $n) (local.get $len))
          (then
            (local.set $k (i32.const 0))
            (block $differ
              (loop $byte
                (if (i32.ge_u (local.get $k) (local.get $n))
                  (then (return (i32.add (local.get $index) (i32.const 1)))))
                (br_if $differ
                  (i32.ne
                    (i32.load8_u offset=1 (i32.add (local.get $t) (local.get $k)))
                    (i32.load8_u (i32.add (local.get $from) (local.get $k)))))
                (local.set $k (i32.add (local.get $k) (i32.const 1)))
                (br $byte)))))
        (local.set $t (i32.add (local.get $t) (i32.add (local.get $n) (i32.const 1))))
        (local.set $index (i32.add (local.get $index) (i32.const 1)))
        (br $name)))
    (i32.const 0))

  ;; A container value at $q (its first byte $b) passed whole: where it ends, or -1 when it does
  ;; not close within the chunk (or holds what the general path must name).
  (func $container (param $q i32) (param $end i32) (param $b i32) (result i32)
    (local $kind i32) (local $e i32)
    ;; {} and [] (a node's meta, tags, refs), the commonest.
    (if (i32.and
          (i32.lt_u (i32.add (local.get $q) (i32.const 1)) (local.get $end))
          (i32.eq (i32.load8_u offset=1 (local.get $q)) (i32.add (local.get $b) (i32.const 2))))
      (then (return (i32.add (local.get $q) (i32.const 2)))))
    (local.set $kind (select (i32.const 1) (i32.const 2) (i32.eq (local.get $b) (i32.const 0x7b))))
    (i32.store8 offset=4096 (i32.const 0) (local.get $kind))
    (local.set $e
      (call $skip (i32.add (local.get $q) (i32.const 1)) (local.get $end)
        (select (i32.const 3) (i32.const 2) (i32.eq (local.get $kind) (i32.const 1)))
        (i32.const 1) (i32.const 0) (i32.const 4096)))
    (if (i32.load offset=516 (i32.const 0)) (then (return (i32.const -1))))
    (local.get $e))

  ;; The members of a visited object that its key table at $t does not name, from the key at $p
  ;; (state KEY): each passed, key, colon, value and comma, until a key the table names (or one with
  ;; an escape, which the scanner decodes to match), the object's end, or what it cannot pass here.
  ;; Returns where it stopped, the state there at 512: 8 (VALUE, of a key the table names: its
  ;; index at 528) after such a key and its colon; KEY at a key; COLON after a passed key; VALUE at
  ;; a passed key's value (nothing asks for it); COMMA_OR_END after a value.
  (func (export "members") (param $p i32) (param $end i32) (param $t i32) (result i32)
    (local $st i32) (local $q i32) (local $e i32) (local $b i32) (local $index i32)
    (block $out
      (loop $member
        (local.set $st (i32.const 4))
        (br_if $out (i32.ge_u (local.get $p) (local.get $end)))
        (br_if $out (i32.ne (i32.load8_u (local.get $p)) (i32.const 0x22)))
        (local.set $e (call $string (i32.add (local.get $p) (i32.const 1)) (local.get $end)))
        (br_if $out (i32.lt_s (local.get $e) (i32.const 0)))
        (br_if $out (i32.load offset=524 (i32.const 0)))
        (local.set $index
          (call $known (local.get $t) (i32.add (local.get $p) (i32.const 1)) (i32.sub (local.get $e) (i32.const 1))))
        (if (local.get $index)
          (then
            ;; A key the table names, its colon right after it: the scanner reads its value.
            (br_if $out (i32.ge_u (local.get $e) (local.get $end)))
            (br_if $out (i32.ne (i32.load8_u (local.get $e)) (i32.const 0x3a)))
            (i32.store offset=528 (i32.const 0) (i32.sub (local.get $index) (i32.const 1)))
            (local.set $st (i32.const 8))
            (local.set $p (i32.add (local.get $e) (i32.const 1)))
            (br $out)))
        ;; A key the object does not ask for: its member is passed.
        (local.set $st (i32.const 5))
        (local.set $p (local.get $e))
        (br_if $out (i32.ge_u (local.get $p) (local.get $end)))
        (br_if $out (i32.ne (i32.load8_u (local.get $p)) (i32.const 0x3a)))
        (local.set $p (i32.add (local.get $p) (i32.const 1)))
        (local.set $st (i32.const 1))
        (br_if $out (i32.ge_u (local.get $p) (local.get $end)))
        (local.set $b (i32.load8_u (local.get $p)))
        (local.set $e (i32.const -1))
        (if (i32.eq (local.get $b) (i32.const 0x22))
          (then (local.set $e (call $string (i32.add (local.get $p) (i32.const 1)) (local.get $end))))
          (else
            (if (i32.eq (i32.or (local.get $b) (i32.const 0x20)) (i32.const 0x7b))
              (then (local.set $e (call $container (local.get $p) (local.get $end) (local.get $b))))
              (else
                (if (i32.or (i32.eq (local.get $b) (i32.const 0x2d)) (call $digit (local.get $b)))
                  (then (local.set $e (call $number (local.get $p) (local.get $end))))
                  (else
                    (if (i32.or (i32.or (i32.eq (local.get $b) (i32.const 0x74)) (i32.eq (local.get $b) (i32.const 0x66)))
                                (i32.eq (local.get $b) (i32.const 0x6e)))
                      (then (local.set $e (call $literal (local.get $p) (local.get $end) (local.get $b)))))))))))
        (br_if $out (i32.lt_s (local.get $e) (i32.const 0)))
        (local.set $st (i32.const 6))
        (local.set $p (local.get $e))
        (br_if $out (i32.ge_u (local.get $p) (local.get $end)))
        (br_if $out (i32.ne (i32.load8_u (local.get $p)) (i32.const 0x2c)))
        (local.set $p (i32.add (local.get $p) (i32.const 1)))
        (br $member)))
    (i32.store offset=512 (i32.const 0) (local.get $st))
    (local.get $p))
)
