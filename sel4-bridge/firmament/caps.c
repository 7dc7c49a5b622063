/* Objects, the capability derivation tree and the verbs on it: new, mint (must narrow), revoke (the
   whole derived subtree, synchronously), delete; and the canonical checkpoint with its thaw. */
#include "fw.h"

struct state K;
const char *fw_why = "";

int fail(int code, const char *why) {
  fw_why = why;
  return code;
}

/* The lattice of core/src/caps/rights.ts `narrows`, on the dimensions a kernel capability carries:
   actions a subset, budget no larger, valid no earlier, expiring no later. */
int narrows(const struct cap *child, const struct cap *parent) {
  if (child->rights & ~parent->rights) return 0;
  if (parent->budget != NONE && (child->budget == NONE || child->budget > parent->budget)) return 0;
  if (child->nbf < parent->nbf) return 0;
  if (parent->exp != NONE && (child->exp == NONE || child->exp > parent->exp)) return 0;
  return 1;
}

static int free_slot(unsigned cnode, unsigned *slot) {
  if (cnode >= CNODES) return fail(FW_E_INVALID, "no such cnode");
  for (unsigned s = cnode * CNODE_SLOTS; s < (cnode + 1) * CNODE_SLOTS; s++)
    if (!K.caps[s].used) return *slot = s, FW_OK;
  return fail(FW_E_QUOTA, "the cnode is full");
}

static int valid_cell(const char *s, size_t n) {
  if (n == 0 || n > CELL_ID) return 0;
  for (size_t i = 0; i < n; i++) {
    char c = s[i];
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '_' || c == ':' ||
          c == '/' || c == '-'))
      return 0;
  }
  return 1;
}

int cap_new(int type, unsigned cnode, const char *arg, unsigned *slot) {
  int err = free_slot(cnode, slot);
  if (err) return err;
  if (type == OBJ_UPLINK && (arg == 0 || !valid_cell(arg, strlen(arg))))
    return fail(FW_E_ARGUMENT, "an uplink names its remote cell");
  if (type != OBJ_UPLINK && arg != 0) return fail(FW_E_ARGUMENT, "only an uplink takes an argument");
  unsigned o = 0;
  while (o < OBJS && K.objs[o].type != OBJ_FREE) o++;
  if (o == OBJS) return fail(FW_E_QUOTA, "no free kernel object");
  struct obj *ob = &K.objs[o];
  memset(ob, 0, sizeof *ob);
  if (type == OBJ_REGION) {
    uint8_t used[REGIONS] = {0};
    for (unsigned i = 0; i < OBJS; i++)
      if (K.objs[i].type == OBJ_REGION) used[K.objs[i].block] = 1;
    unsigned b = 0;
    while (b < REGIONS && used[b]) b++;
    if (b == REGIONS) return fail(FW_E_QUOTA, "no free memory region");
    ob->block = (uint8_t)b;
    memset(__regions + b * REGION_BYTES, 0, REGION_BYTES);
  }
  if (type == OBJ_UPLINK) {
    ob->cell_len = (uint8_t)strlen(arg);
    memcpy(ob->cell, arg, ob->cell_len);
  }
  ob->type = (uint8_t)type;
  K.caps[*slot] = (struct cap){.used = 1, .obj = (uint16_t)o, .parent = NO_PARENT, .gen = K.next_gen++,
                               .rights = FW_ALL_ACTIONS, .budget = NONE, .exp = NONE};
  return FW_OK;
}

/* `<slot>` or `<slot>:<gen>`; a generation that is not the slot's current one is a revoked capability. */
int cap_lookup(const char *ref, unsigned *slot) {
  uint64_t s = 0, g = 0;
  int digits = 0, has_gen = 0;
  for (; *ref >= '0' && *ref <= '9'; ref++, digits++) {
    s = s * 10 + (uint64_t)(*ref - '0');
    if (s >= SLOTS) return fail(FW_E_INVALID, "slot out of range");
  }
  if (digits == 0) return fail(FW_E_DECODE, "a capability is <slot>[:<gen>]");
  if (*ref == ':') {
    has_gen = 1, digits = 0;
    for (ref++; *ref >= '0' && *ref <= '9'; ref++, digits++) {
      g = g * 10 + (uint64_t)(*ref - '0');
      if (g > UINT32_MAX) return fail(FW_E_INVALID, "generation out of range");
    }
    if (digits == 0) return fail(FW_E_DECODE, "a capability is <slot>[:<gen>]");
  }
  if (*ref) return fail(FW_E_DECODE, "a capability is <slot>[:<gen>]");
  const struct cap *c = &K.caps[s];
  if (has_gen && (!c->used || c->gen != g)) return fail(FW_E_REVOKED, "that capability was revoked");
  if (!c->used) return fail(FW_E_NOT_FOUND, "the slot is empty");
  *slot = (unsigned)s;
  return FW_OK;
}

int cap_mint(unsigned src, unsigned cnode, const struct cap *want, unsigned *slot) {
  const struct cap *parent = &K.caps[src];
  if (!(parent->rights & FW_ACTION_GRANT)) return fail(FW_E_DENIED, "the capability does not allow grant");
  if (!narrows(want, parent)) return fail(FW_E_WIDENING, "the minted capability would widen its parent");
  int err = free_slot(cnode, slot);
  if (err) return err;
  K.caps[*slot] = (struct cap){.used = 1, .obj = parent->obj, .parent = (uint16_t)src, .gen = K.next_gen++,
                               .rights = want->rights, .budget = want->budget, .nbf = want->nbf,
                               .exp = want->exp};
  return FW_OK;
}

static int descends(const struct state *st, unsigned s, unsigned ancestor) {
  for (unsigned hops = 0; hops < SLOTS && st->caps[s].parent != NO_PARENT; hops++) {
    s = st->caps[s].parent;
    if (s == ancestor) return 1;
  }
  return 0;
}

static void release_unreferenced(void) {
  for (unsigned o = 0; o < OBJS; o++) {
    if (K.objs[o].type == OBJ_FREE) continue;
    int held = 0;
    for (unsigned s = 0; s < SLOTS && !held; s++) held = K.caps[s].used && K.caps[s].obj == o;
    if (!held) K.objs[o].type = OBJ_FREE;
  }
}

/* Marks the subtree first and clears it after, so no descendant is missed when a parent goes first. */
int cap_revoke(unsigned slot, unsigned *count) {
  static uint8_t doomed[SLOTS];
  *count = 0;
  for (unsigned s = 0; s < SLOTS; s++) doomed[s] = K.caps[s].used && descends(&K, s, slot);
  for (unsigned s = 0; s < SLOTS; s++)
    if (doomed[s]) K.caps[s].used = 0, (*count)++;
  release_unreferenced();
  return FW_OK;
}

int cap_delete(unsigned slot, unsigned *count) {
  cap_revoke(slot, count);
  K.caps[slot].used = 0;
  (*count)++;
  release_unreferenced();
  return FW_OK;
}

/* ---- The canonical checkpoint: fixed-width little-endian fields, objects then capabilities, each in
   index order, so one kernel state has exactly one encoding and its SHA-256 is its root. ---- */

struct writer { uint8_t *p; size_t n, cap; int over; };

static void w8(struct writer *w, uint64_t v, int bytes) {
  if (w->n + (size_t)bytes > w->cap) { w->over = 1; return; }
  for (int i = 0; i < bytes; i++) w->p[w->n++] = (uint8_t)(v >> (8 * i));
}

static void wbytes(struct writer *w, const void *b, size_t n) {
  if (w->n + n > w->cap) { w->over = 1; return; }
  memcpy(w->p + w->n, b, n);
  w->n += n;
}

static const uint8_t MAGIC[5] = {'F', 'W', 'C', 'K', 1};

int checkpoint(uint8_t *blob, size_t *len) {
  struct writer w = {blob, 0, MAX_BLOB, 0};
  wbytes(&w, MAGIC, sizeof MAGIC);
  w8(&w, K.next_gen, 4);
  unsigned nobj = 0, ncap = 0;
  for (unsigned o = 0; o < OBJS; o++) nobj += K.objs[o].type != OBJ_FREE;
  for (unsigned s = 0; s < SLOTS; s++) ncap += K.caps[s].used;
  w8(&w, nobj, 2);
  for (unsigned o = 0; o < OBJS; o++) {
    const struct obj *ob = &K.objs[o];
    if (ob->type == OBJ_FREE) continue;
    w8(&w, o, 2);
    w8(&w, ob->type, 1);
    if (ob->type == OBJ_EP) {
      w8(&w, ob->qlen, 1);
      for (unsigned i = 0; i < ob->qlen; i++) w8(&w, ob->queue[i], 8);
    } else if (ob->type == OBJ_NTFN) {
      w8(&w, ob->word, 8);
    } else if (ob->type == OBJ_REGION) {
      w8(&w, ob->block, 1);
      wbytes(&w, __regions + ob->block * REGION_BYTES, REGION_BYTES);
    } else {
      w8(&w, ob->cell_len, 1);
      wbytes(&w, ob->cell, ob->cell_len);
    }
  }
  w8(&w, ncap, 2);
  for (unsigned s = 0; s < SLOTS; s++) {
    const struct cap *c = &K.caps[s];
    if (!c->used) continue;
    w8(&w, s, 2), w8(&w, c->obj, 2), w8(&w, c->parent, 2), w8(&w, c->gen, 4), w8(&w, c->rights, 4);
    w8(&w, c->budget, 8), w8(&w, c->spent, 8), w8(&w, c->nbf, 8), w8(&w, c->exp, 8);
  }
  if (w.over) return fail(FW_E_TOO_LARGE, "the state does not fit a checkpoint");
  *len = w.n;
  return FW_OK;
}

struct reader { const uint8_t *p; size_t n, at; int short_; };

static uint64_t r8(struct reader *r, int bytes) {
  if (r->at + (size_t)bytes > r->n) { r->short_ = 1; return 0; }
  uint64_t v = 0;
  for (int i = 0; i < bytes; i++) v |= (uint64_t)r->p[r->at++] << (8 * i);
  return v;
}

static const uint8_t *rbytes(struct reader *r, size_t n) {
  if (r->at + n > r->n) { r->short_ = 1; return 0; }
  const uint8_t *b = r->p + r->at;
  r->at += n;
  return b;
}

/* Decodes into a scratch state and replaces the live one only when every check passed: the root, the
   encoding (bounds, order, references), and the tooth of seed 001, no child wider than its parent. */
int thaw(const uint8_t *blob, size_t len, const uint8_t root[32]) {
  static struct state st;
  static uint8_t pool[REGIONS * REGION_BYTES];
  uint8_t digest[32];
  sha256(blob, len, digest);
  if (memcmp(digest, root, 32) != 0) return fail(FW_E_UNTRUSTED, "the blob's root is not the trusted root");
  memset(&st, 0, sizeof st);
  memset(pool, 0, sizeof pool);
  struct reader r = {blob, len, 0, 0};
  const uint8_t *magic = rbytes(&r, sizeof MAGIC);
  if (!magic || memcmp(magic, MAGIC, sizeof MAGIC) != 0) return fail(FW_E_INVALID, "not a version-1 checkpoint");
  st.next_gen = (uint32_t)r8(&r, 4);
  uint64_t nobj = r8(&r, 2);
  if (nobj > OBJS) return fail(FW_E_INVALID, "too many objects");
  uint8_t blocks[REGIONS] = {0};
  int64_t last = -1;
  for (uint64_t i = 0; i < nobj && !r.short_; i++) {
    uint64_t o = r8(&r, 2), type = r8(&r, 1);
    if (o >= OBJS || (int64_t)o <= last) return fail(FW_E_INVALID, "objects out of order or range");
    last = (int64_t)o;
    struct obj *ob = &st.objs[o];
    if (type == OBJ_EP) {
      ob->qlen = (uint8_t)r8(&r, 1);
      if (ob->qlen > QUEUE) return fail(FW_E_INVALID, "endpoint queue too long");
      for (unsigned q = 0; q < ob->qlen; q++) ob->queue[q] = r8(&r, 8);
    } else if (type == OBJ_NTFN) {
      ob->word = r8(&r, 8);
    } else if (type == OBJ_REGION) {
      uint64_t b = r8(&r, 1);
      const uint8_t *mem = rbytes(&r, REGION_BYTES);
      if (r.short_) break;
      if (b >= REGIONS || blocks[b]) return fail(FW_E_INVALID, "region block out of range or shared");
      blocks[b] = 1;
      ob->block = (uint8_t)b;
      memcpy(pool + b * REGION_BYTES, mem, REGION_BYTES);
    } else if (type == OBJ_UPLINK) {
      uint64_t n = r8(&r, 1);
      const uint8_t *cell = rbytes(&r, n);
      if (r.short_) break;
      if (!valid_cell((const char *)cell, n)) return fail(FW_E_INVALID, "malformed uplink cell");
      ob->cell_len = (uint8_t)n;
      memcpy(ob->cell, cell, n);
    } else {
      return fail(FW_E_INVALID, "unknown object type");
    }
    ob->type = (uint8_t)type;
  }
  uint64_t ncap = r8(&r, 2);
  if (ncap > SLOTS) return fail(FW_E_INVALID, "too many capabilities");
  last = -1;
  for (uint64_t i = 0; i < ncap && !r.short_; i++) {
    uint64_t s = r8(&r, 2);
    struct cap c = {.used = 1};
    c.obj = (uint16_t)r8(&r, 2), c.parent = (uint16_t)r8(&r, 2), c.gen = (uint32_t)r8(&r, 4);
    c.rights = (uint32_t)r8(&r, 4), c.budget = r8(&r, 8), c.spent = r8(&r, 8), c.nbf = r8(&r, 8);
    c.exp = r8(&r, 8);
    if (r.short_) break;
    if (s >= SLOTS || (int64_t)s <= last) return fail(FW_E_INVALID, "slots out of order or range");
    last = (int64_t)s;
    if (c.obj >= OBJS || st.objs[c.obj].type == OBJ_FREE) return fail(FW_E_INVALID, "a capability to no object");
    if (c.rights & ~FW_ALL_ACTIONS) return fail(FW_E_INVALID, "unknown rights bits");
    if (c.gen >= st.next_gen) return fail(FW_E_INVALID, "a generation from the future");
    st.caps[s] = c;
  }
  if (r.short_) return fail(FW_E_INVALID, "the checkpoint is truncated");
  if (r.at != r.n) return fail(FW_E_INVALID, "trailing bytes after the checkpoint");
  for (unsigned s = 0; s < SLOTS; s++) {
    const struct cap *c = &st.caps[s];
    if (!c->used) continue;
    for (unsigned t = s + 1; t < SLOTS; t++)
      if (st.caps[t].used && st.caps[t].gen == c->gen) return fail(FW_E_INVALID, "a generation used twice");
    if (c->parent == NO_PARENT) continue;
    const struct cap *p = c->parent < SLOTS ? &st.caps[c->parent] : 0;
    if (!p || !p->used || p->obj != c->obj) return fail(FW_E_INVALID, "a parent that is not there");
    if (descends(&st, c->parent, s) || c->parent == s) return fail(FW_E_INVALID, "a derivation cycle");
    if (!narrows(c, p)) return fail(FW_E_WIDENING, "a child in the checkpoint is wider than its parent");
  }
  for (unsigned o = 0; o < OBJS; o++) {
    int held = 0;
    for (unsigned s = 0; s < SLOTS && !held; s++) held = st.caps[s].used && st.caps[s].obj == o;
    if (st.objs[o].type != OBJ_FREE && !held) return fail(FW_E_INVALID, "an object nobody holds");
  }
  K = st;
  memcpy(__regions, pool, sizeof pool);
  return FW_OK;
}
