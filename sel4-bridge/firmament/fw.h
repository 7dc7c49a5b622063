/* The firmament: our own seL4-style capability kernel (not seL4). Shared declarations. */
#ifndef FW_H
#define FW_H
#include <stddef.h>
#include <stdint.h>
#include "fw_abi.h" /* generated from core/src/caps and core/src/errors.ts by sel4-bridge/src/abi.ts */

#define MAX_LINE 65536      /* longest request line, in bytes */
#define MAX_BLOB 32768      /* largest checkpoint blob, in bytes (the hex on the line is twice that) */
#define CNODES 8            /* CNode c is slots [c*CNODE_SLOTS, (c+1)*CNODE_SLOTS) */
#define CNODE_SLOTS 32
#define SLOTS (CNODES * CNODE_SLOTS)
#define OBJS 64
#define QUEUE 8             /* endpoint message queue depth */
#define REGIONS 8
#define REGION_BYTES 256
#define CELL_ID 64          /* longest uplink target: a remote cell id is 64 hex digits */
#define NONE UINT64_MAX     /* no budget limit / never expires */
#define NO_PARENT 0xffff

enum obj_type { OBJ_FREE = 0, OBJ_EP = 1, OBJ_NTFN = 2, OBJ_REGION = 3, OBJ_UPLINK = 4 };

struct obj {
  uint8_t type;
  uint8_t qlen;       /* endpoint: queued words */
  uint8_t block;      /* region: its block of the pool */
  uint8_t cell_len;   /* uplink: length of `cell` */
  uint64_t word;      /* notification word */
  uint64_t queue[QUEUE];
  char cell[CELL_ID + 1];
};

/* A capability: an object, rights (a subset of the action vocabulary, a budget, a validity window)
   and its parent in the derivation tree. `gen` names this very capability: a slot reused after a
   revocation gets a new one, so a stale reference is refused instead of reaching the new occupant. */
struct cap {
  uint8_t used;
  uint16_t obj;
  uint16_t parent;
  uint32_t gen;
  uint32_t rights;
  uint64_t budget, spent, nbf, exp;
};

struct state {
  uint32_t next_gen;
  struct obj objs[OBJS];
  struct cap caps[SLOTS];
};

extern struct state K;
extern uint8_t __regions[]; /* the live region pool, REGIONS blocks of REGION_BYTES */

/* io.c */
void put(const char *s);
void putn(const char *s, size_t n);
void putu(uint64_t v);
void puthex(const uint8_t *b, size_t n);
void putx(uint64_t v);
int getch(void);
void io_init(void);
_Noreturn void poweroff(uint32_t code);
uint64_t now_seconds(void);
void set_clock(uint64_t unix_seconds);

/* lib.c */
void *memset(void *d, int c, size_t n);
void *memcpy(void *d, const void *s, size_t n);
int memcmp(const void *a, const void *b, size_t n);
size_t strlen(const char *s);
int streq(const char *a, const char *b);

/* sha256.c */
void sha256(const uint8_t *msg, size_t len, uint8_t out[32]);

/* caps.c: each verb returns FW_OK or an error code, with a message in `fw_why`. */
extern const char *fw_why;
int fail(int code, const char *why);
int narrows(const struct cap *child, const struct cap *parent);
int cap_new(int type, unsigned cnode, const char *arg, unsigned *slot);
int cap_lookup(const char *ref, unsigned *slot);
int cap_mint(unsigned src, unsigned cnode, const struct cap *want, unsigned *slot);
int cap_revoke(unsigned slot, unsigned *count);
int cap_delete(unsigned slot, unsigned *count);
int checkpoint(uint8_t *blob, size_t *len);
int thaw(const uint8_t *blob, size_t len, const uint8_t root[32]);

/* app.c */
struct app_exit { uint64_t cause, tval; };
int app_run(unsigned block, unsigned program, struct app_exit *exit);
#endif
