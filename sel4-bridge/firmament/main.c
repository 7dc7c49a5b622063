/* The line protocol over the serial line. A request is `<seq> <verb> <args...>`; the answer is
   `#FW <seq> ok <key=value...>` or `#FW <seq> err <E_CODE> <message>` (`-` for a seq that could not
   be read). Every field is bounds-checked; a bad line is answered with a code and the kernel goes on. */
#include "fw.h"

#define MAX_ARGS 8

static char line[MAX_LINE + 1];
static uint8_t blob[MAX_BLOB];
static const char *seq = "-";

_Noreturn void kernel_fault(uint64_t cause, uint64_t epc, uint64_t tval) {
  put("#FW - fatal mcause=");
  putu(cause);
  put(" mepc=");
  putx(epc);
  put(" mtval=");
  putx(tval);
  put("\n");
  poweroff(2);
}

static void ok(void) {
  put("#FW ");
  put(seq);
  put(" ok");
}

static void kv(const char *k, uint64_t v) {
  put(" ");
  put(k);
  put("=");
  putu(v);
}

static void kx(const char *k, uint64_t v) {
  put(" ");
  put(k);
  put("=");
  putx(v);
}

static void bound(uint64_t v, const char *k) { v == NONE ? (put(" "), put(k), put("=-")) : kv(k, v); }

static int parse_u64(const char *s, uint64_t *v) {
  if (!*s) return fail(FW_E_DECODE, "expected a number");
  uint64_t x = 0;
  for (; *s; s++) {
    if (*s < '0' || *s > '9') return fail(FW_E_DECODE, "expected a decimal number");
    uint64_t d = (uint64_t)(*s - '0');
    if (x > (UINT64_MAX - d) / 10) return fail(FW_E_INVALID, "number out of range");
    x = x * 10 + d;
  }
  *v = x;
  return FW_OK;
}

/* A bound: a number, or `-` for none. */
static int parse_bound(const char *s, uint64_t *v) {
  if (streq(s, "-")) return *v = NONE, FW_OK;
  int err = parse_u64(s, v);
  if (!err && *v == NONE) return fail(FW_E_INVALID, "number out of range");
  return err;
}

static int parse_small(const char *s, uint64_t max, unsigned *v) {
  uint64_t x;
  int err = parse_u64(s, &x);
  if (err) return err;
  if (x > max) return fail(FW_E_INVALID, "argument out of range");
  *v = (unsigned)x;
  return FW_OK;
}

static int unhex(const char *s, uint8_t *out, size_t max, size_t *len) {
  if (streq(s, "-")) return *len = 0, FW_OK;
  size_t n = strlen(s);
  if (n % 2) return fail(FW_E_DECODE, "odd-length hex");
  if (n / 2 > max) return fail(FW_E_TOO_LARGE, "the blob is larger than the kernel accepts");
  for (size_t i = 0; i < n; i++) {
    char c = s[i];
    int d = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
    if (d < 0) return fail(FW_E_DECODE, "not lowercase hex");
    if (i % 2 == 0) out[i / 2] = (uint8_t)(d << 4);
    else out[i / 2] |= (uint8_t)d;
  }
  *len = n / 2;
  return FW_OK;
}

static const char *const TYPE_NAMES[] = {"free", "ep", "ntfn", "region", "uplink"};

static int type_named(const char *s) {
  for (int t = OBJ_EP; t <= OBJ_UPLINK; t++)
    if (streq(s, TYPE_NAMES[t])) return t;
  return -1;
}

static int action_named(const char *s) {
  for (int i = 0; i < FW_ACTION_COUNT; i++)
    if (streq(s, fw_action_names[i])) return i;
  return -1;
}

static void describe(unsigned s) {
  const struct cap *c = &K.caps[s];
  kv("slot", s);
  kv("gen", c->gen);
  put(" type=");
  put(TYPE_NAMES[K.objs[c->obj].type]);
  kv("obj", c->obj);
  kx("rights", c->rights);
  bound(c->budget, "budget");
  kv("spent", c->spent);
  kv("nbf", c->nbf);
  bound(c->exp, "exp");
  c->parent == NO_PARENT ? put(" parent=-") : kv("parent", c->parent);
}

/* Which action applies to which object. */
static int action_fits(int action, int type) {
  uint32_t bit = 1u << action;
  if (type == OBJ_EP) return (bit & (FW_ACTION_SEND | FW_ACTION_RECV)) != 0;
  if (type == OBJ_NTFN) return (bit & (FW_ACTION_SIGNAL | FW_ACTION_WAIT)) != 0;
  if (type == OBJ_REGION) return (bit & (FW_ACTION_READ | FW_ACTION_WRITE | FW_ACTION_RUN)) != 0;
  return bit == FW_ACTION_FORWARD;
}

/* Charges `cost` to the capability and every ancestor: a budget bounds its whole derived subtree. */
static int charge(unsigned s, uint64_t cost) {
  for (unsigned t = s, hops = 0; t != NO_PARENT && hops < SLOTS; t = K.caps[t].parent, hops++) {
    const struct cap *c = &K.caps[t];
    if (c->budget != NONE && (c->spent + cost > c->budget || c->spent + cost < c->spent))
      return fail(FW_E_BUDGET, "the invocation exceeds the capability's budget");
  }
  for (unsigned t = s, hops = 0; t != NO_PARENT && hops < SLOTS; t = K.caps[t].parent, hops++)
    K.caps[t].spent += cost;
  return FW_OK;
}

static int invoke(int argc, char **argv) {
  unsigned s;
  if (argc < 2 || argc > 4) return fail(FW_E_ARGUMENT, "invoke <cap> <action> [a] [b]");
  int err = cap_lookup(argv[0], &s);
  if (err) return err;
  int action = action_named(argv[1]);
  if (action < 0) return fail(FW_E_ARGUMENT, "unknown action");
  uint64_t a = 0, b = 0;
  if (argc > 2 && (err = parse_u64(argv[2], &a))) return err;
  if (argc > 3 && (err = parse_u64(argv[3], &b))) return err;
  struct cap *c = &K.caps[s];
  struct obj *ob = &K.objs[c->obj];
  if (!(c->rights & (1u << action))) return fail(FW_E_DENIED, "the capability does not allow that action");
  if (!action_fits(action, ob->type)) return fail(FW_E_INVALID, "not an operation of this object");
  uint64_t now = now_seconds();
  if (c->exp != NONE && now >= c->exp) return fail(FW_E_EXPIRED, "the capability has expired");
  if (now < c->nbf) return fail(FW_E_NOT_YET_VALID, "the capability is not valid yet");
  uint32_t bit = 1u << action;
  if (bit == FW_ACTION_RECV && ob->qlen == 0) return fail(FW_E_NOT_FOUND, "no message waiting");
  if (bit == FW_ACTION_SEND && ob->qlen == QUEUE) return fail(FW_E_QUOTA, "the endpoint queue is full");
  if ((bit == FW_ACTION_READ || bit == FW_ACTION_WRITE) && a >= REGION_BYTES / 8)
    return fail(FW_E_INVALID, "offset outside the region");
  if ((err = charge(s, 1))) return err;
  uint64_t *mem = (uint64_t *)(__regions + ob->block * REGION_BYTES);
  if (bit == FW_ACTION_SEND) {
    ob->queue[ob->qlen++] = a;
    ok(), kv("queued", ob->qlen);
  } else if (bit == FW_ACTION_RECV) {
    uint64_t w = ob->queue[0];
    for (unsigned i = 1; i < ob->qlen; i++) ob->queue[i - 1] = ob->queue[i];
    ob->qlen--;
    ok(), kv("word", w);
  } else if (bit == FW_ACTION_SIGNAL) {
    ob->word |= a;
    ok(), kv("word", ob->word);
  } else if (bit == FW_ACTION_WAIT) {
    ok(), kv("word", ob->word);
    ob->word = 0;
  } else if (bit == FW_ACTION_READ) {
    ok(), kv("word", mem[a]);
  } else if (bit == FW_ACTION_WRITE) {
    mem[a] = b;
    ok(), kv("word", b);
  } else if (bit == FW_ACTION_RUN) {
    struct app_exit exit;
    if ((err = app_run(ob->block, (unsigned)a, &exit))) return err;
    ok();
    put(exit.cause == 8 ? " app=exited" : " app=killed");
    kv("mcause", exit.cause);
    kx("mtval", exit.tval);
    kv("word", mem[0]);
  } else {
    /* An uplink: the kernel has checked the capability; the launcher carries the call to the cell. */
    ok(), put(" forward="), putn(ob->cell, ob->cell_len), kv("a", a);
  }
  return FW_OK;
}

static int mint(int argc, char **argv) {
  unsigned src, cnode = 0, slot;
  uint64_t rights;
  struct cap want = {0};
  if (argc != 6) return fail(FW_E_ARGUMENT, "mint <cap> <cnode> <rights-hex> <budget|-> <nbf> <exp|->");
  int err = cap_lookup(argv[0], &src);
  if (!err) err = parse_small(argv[1], CNODES - 1, &cnode);
  if (err) return err;
  rights = 0;
  const char *h = argv[2];
  if (!*h || strlen(h) > 8) return fail(FW_E_DECODE, "rights are 1 to 8 hex digits");
  for (; *h; h++) {
    int d = *h >= '0' && *h <= '9' ? *h - '0' : *h >= 'a' && *h <= 'f' ? *h - 'a' + 10 : -1;
    if (d < 0) return fail(FW_E_DECODE, "rights are hex");
    rights = rights << 4 | (uint64_t)d;
  }
  if (rights & ~(uint64_t)FW_ALL_ACTIONS) return fail(FW_E_INVALID, "unknown rights bits");
  want.rights = (uint32_t)rights;
  if ((err = parse_bound(argv[3], &want.budget)) || (err = parse_u64(argv[4], &want.nbf)) ||
      (err = parse_bound(argv[5], &want.exp)))
    return err;
  if ((err = cap_mint(src, cnode, &want, &slot))) return err;
  ok(), describe(slot);
  return FW_OK;
}

static int dispatch(const char *verb, int argc, char **argv) {
  unsigned s, n;
  int err;
  if (streq(verb, "ping")) {
    if (argc) return fail(FW_E_ARGUMENT, "ping takes no arguments");
    ok(), kv("now", now_seconds());
  } else if (streq(verb, "clock")) {
    uint64_t t;
    if (argc != 1) return fail(FW_E_ARGUMENT, "clock <unix-seconds>");
    if ((err = parse_u64(argv[0], &t))) return err;
    set_clock(t);
    ok(), kv("now", now_seconds());
  } else if (streq(verb, "new")) {
    unsigned cnode = 0;
    int type = argc >= 2 && argc <= 3 ? type_named(argv[0]) : -1;
    if (type < 0) return fail(FW_E_ARGUMENT, "new ep|ntfn|region|uplink <cnode> [cell]");
    if ((err = parse_small(argv[1], CNODES - 1, &cnode))) return err;
    if ((err = cap_new(type, cnode, argc == 3 ? argv[2] : 0, &s))) return err;
    ok(), describe(s);
  } else if (streq(verb, "mint")) {
    return mint(argc, argv);
  } else if (streq(verb, "invoke")) {
    return invoke(argc, argv);
  } else if (streq(verb, "show") || streq(verb, "revoke") || streq(verb, "delete")) {
    if (argc != 1) return fail(FW_E_ARGUMENT, "expected one capability");
    if ((err = cap_lookup(argv[0], &s))) return err;
    if (streq(verb, "show")) return ok(), describe(s), FW_OK;
    streq(verb, "revoke") ? cap_revoke(s, &n) : cap_delete(s, &n);
    ok(), kv("revoked", n);
  } else if (streq(verb, "list")) {
    unsigned cnode = 0;
    if (argc != 1) return fail(FW_E_ARGUMENT, "list <cnode>");
    if ((err = parse_small(argv[0], CNODES - 1, &cnode))) return err;
    ok(), put(" caps=");
    int first = 1;
    for (s = cnode * CNODE_SLOTS; s < (cnode + 1) * CNODE_SLOTS; s++) {
      const struct cap *c = &K.caps[s];
      if (!c->used) continue;
      if (!first) put(",");
      first = 0;
      putu(s), put(":"), putu(c->gen), put(":"), put(TYPE_NAMES[K.objs[c->obj].type]), put(":");
      putx(c->rights);
    }
  } else if (streq(verb, "ckpt")) {
    size_t len;
    uint8_t root[32];
    if (argc) return fail(FW_E_ARGUMENT, "ckpt takes no arguments");
    if ((err = checkpoint(blob, &len))) return err;
    sha256(blob, len, root);
    ok(), put(" root="), puthex(root, 32), put(" blob="), puthex(blob, len);
  } else if (streq(verb, "thaw")) {
    uint8_t root[32];
    size_t len;
    if (argc != 2) return fail(FW_E_ARGUMENT, "thaw <trusted-root> <blob>");
    if ((err = unhex(argv[0], root, 32, &len))) return err;
    if (len != 32) return fail(FW_E_INVALID, "a root is 32 bytes");
    if ((err = unhex(argv[1], blob, MAX_BLOB, &len))) return err;
    if ((err = thaw(blob, len, root))) return err;
    ok(), kv("bytes", len);
  } else if (streq(verb, "sha256")) {
    uint8_t digest[32];
    size_t len;
    if (argc != 1) return fail(FW_E_ARGUMENT, "sha256 <hex|->");
    if ((err = unhex(argv[0], blob, MAX_BLOB, &len))) return err;
    sha256(blob, len, digest);
    ok(), put(" digest="), puthex(digest, 32);
  } else if (streq(verb, "halt")) {
    ok(), put("\n");
    poweroff(0);
  } else {
    return fail(FW_E_UNSUPPORTED, "unknown verb");
  }
  return FW_OK;
}

static void error(int code) {
  put("#FW ");
  put(seq);
  put(" err ");
  put(fw_error_names[code]);
  put(" ");
  put(fw_why);
  put("\n");
}

/* Reads the seq first, so even a refused line is answered under it; then splits on single spaces in
   place, refusing control bytes, empty fields and too many fields. */
static int handle(char *text, size_t len) {
  char *fields[MAX_ARGS + 1];
  int n = 0;
  seq = "-";
  if (len && text[len - 1] == '\r') text[--len] = 0;
  size_t d = 0;
  while (d < len && text[d] >= '0' && text[d] <= '9') d++;
  if (d == 0 || d > 10 || (d < len && text[d] != ' '))
    return fail(FW_E_DECODE, "a line starts with its sequence number");
  text[d] = 0;
  seq = text;
  char *rest = d < len ? text + d + 1 : text + d;
  size_t rlen = d < len ? len - d - 1 : 0;
  for (size_t i = 0; i < rlen; i++)
    if ((uint8_t)rest[i] < 0x20 || (uint8_t)rest[i] > 0x7e) return fail(FW_E_DECODE, "a control or non-ASCII byte");
  for (size_t i = 0; i < rlen; i++)
    if (rest[i] == ' ' && (i == 0 || i == rlen - 1 || rest[i + 1] == ' '))
      return fail(FW_E_DECODE, "an empty field");
  for (char *p = rest; *p;) {
    if (n == MAX_ARGS + 1) return fail(FW_E_ARGUMENT, "too many fields");
    fields[n++] = p;
    while (*p && *p != ' ') p++;
    if (*p) *p++ = 0;
  }
  if (n == 0) return fail(FW_E_DECODE, "a line names a verb");
  return dispatch(fields[0], n - 1, fields + 1);
}

void kmain(void) {
  io_init();
  put("#FW 0 ready abi=");
  putu(FW_ABI_VERSION);
  put("\n");
  for (;;) {
    size_t len = 0;
    int over = 0, c;
    while ((c = getch()) != '\n') {
      if (len < MAX_LINE) line[len++] = (char)c;
      else over = 1;
    }
    line[len] = 0;
    int code;
    if (over) {
      /* Answer under the line's seq when it starts with one; the rest was never buffered. */
      size_t d = 0;
      while (d < 10 && line[d] >= '0' && line[d] <= '9') d++;
      seq = "-";
      if (d > 0 && line[d] == ' ') line[d] = 0, seq = line;
      code = fail(FW_E_TOO_LARGE, "the line is longer than the kernel accepts");
    } else {
      code = handle(line, len);
    }
    if (code) error(code);
    else put("\n");
  }
}
