#ifndef PRIVET_PREFETCH_H
#define PRIVET_PREFETCH_H
// Cache prefetch hints for the dataplane's look-ahead (Swift has no prefetch of its own): a
// stage asks for the flow-table buckets and sessions of the packets a few places ahead, so
// that their cache lines arrive while it works on the current one. Inline, so a call costs the
// one instruction.
static inline void privet_prefetch(const void *address) { __builtin_prefetch(address, 0, 3); }
static inline void privet_prefetch_for_write(const void *address) { __builtin_prefetch(address, 1, 3); }
#endif
