# The C allocator's give-back policy, set once per process.
#
# glibc's malloc returns the free memory at the top of its heap to the kernel
# once it exceeds M_TRIM_THRESHOLD (128 KiB by default), and the next
# allocation that grows the heap faults those pages back in, zeroed. A server
# moving 100 KiB messages does exactly that on every message: the bytes read,
# the StreamReader's bytearray and the bytes handed to the application rise
# and fall past the threshold, and asyncio streams echoing 100 KiB over 10
# connections took 2.7 page faults and a tenth of a brk() per request (perf
# stat), about a fifth of the server's CPU.
#
# glibc raises the threshold on its own ("dynamic mmap threshold"): freeing a
# block it had mmap()ed (>= M_MMAP_THRESHOLD) sets M_MMAP_THRESHOLD to that
# block's size and M_TRIM_THRESHOLD to twice it. uvloop and rloop get there
# by accident on their first read (both read into a fresh 256 KiB+ block and
# free it). tideloop does it on purpose, once, when its first loop is made:
# one block of TIDELOOP_MALLOC_WARM bytes, allocated and freed, so the heap
# keeps up to 2 MiB of free memory instead of trading it with the kernel, and
# blocks under 1 MiB come from the heap.
#
# This is process-wide and is glibc's own mechanism: it does nothing when
# the application has chosen its own thresholds (mallopt, or glibc's
# MALLOC_TRIM_THRESHOLD_ / MALLOC_MMAP_THRESHOLD_ / MALLOC_TOP_PAD_
# environment variables, which turn the dynamic thresholds off), nothing when
# the thresholds are already higher, and nothing on a libc other than glibc.

cdef extern from *:
    """
    #include <stdlib.h>
    #define TIDELOOP_MALLOC_WARM (1024 * 1024)
    static int tideloop_malloc_tuned = 0;

    static void tideloop_tune_malloc(void)
    {
    #if defined(__GLIBC__)
        /* Through a volatile pointer: the compiler may drop a malloc()
           whose block is freed unused, and the free() is the point. */
        void (*volatile release)(void *) = free;
        char *block;
        if (tideloop_malloc_tuned)
            return;
        tideloop_malloc_tuned = 1;
        block = (char *)malloc(TIDELOOP_MALLOC_WARM);
        if (block != NULL) {
            block[0] = 0;
            release(block);
        }
    #endif
    }
    """
    void tideloop_tune_malloc() nogil
