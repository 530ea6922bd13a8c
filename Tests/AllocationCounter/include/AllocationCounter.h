#ifndef PRIVET_ALLOCATION_COUNTER_H
#define PRIVET_ALLOCATION_COUNTER_H
// Counts heap allocations made by the calling thread between start and stop. The test process
// links malloc and friends from here; they forward to glibc's own (__libc_malloc ...) and count
// only while the calling thread has counting on, so other threads and other tests are untouched.
void allocation_counter_start(void);
long allocation_counter_stop(void);
// One allocation of its own, for a test to check that the counter counts.
void allocation_counter_probe(void);
#endif
