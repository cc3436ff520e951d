# The loop's two queues, as plain C structures (no per-operation Python
# allocation, no Python-level comparisons):
#
# ReadyQueue - a growable ring buffer of owned Handle references.  Only the
#   loop's thread touches it (other threads go through Loop._ts_queue), and no
#   Python code runs between reading and updating its indices, so a Python
#   signal handler or __del__ can never see it half-updated.
#
# TimerHeap - a binary min-heap of (when, seq, handle) entries.  `seq` is a
#   per-loop counter, so timers with equal `when` fire in the order they were
#   scheduled (FIFO), which asyncio's heapq does not promise but users assume.

cdef struct ReadyQueue:
    PyObject** items
    Py_ssize_t head
    Py_ssize_t size
    Py_ssize_t cap


cdef int rq_init(ReadyQueue* q) except -1:
    q.cap = 1024
    q.items = <PyObject**>PyMem_Malloc(sizeof(PyObject*) * q.cap)
    if q.items == NULL:
        raise MemoryError()
    q.head = 0
    q.size = 0
    return 0


cdef int rq_grow(ReadyQueue* q) except -1:
    cdef Py_ssize_t newcap = q.cap * 2
    cdef Py_ssize_t i
    cdef PyObject** items = <PyObject**>PyMem_Malloc(sizeof(PyObject*) * newcap)
    if items == NULL:
        raise MemoryError()
    for i in range(q.size):
        items[i] = q.items[(q.head + i) % q.cap]
    PyMem_Free(q.items)
    q.items = items
    q.head = 0
    q.cap = newcap
    return 0


cdef inline int rq_push(ReadyQueue* q, object h) except -1:
    if q.size == q.cap:
        rq_grow(q)
    Py_INCREF(h)
    q.items[(q.head + q.size) % q.cap] = <PyObject*>h
    q.size += 1
    return 0


cdef inline Handle rq_pop(ReadyQueue* q):
    # Caller checks q.size > 0.  The queue's reference moves to the result.
    cdef PyObject* p = q.items[q.head]
    q.head += 1
    if q.head == q.cap:
        q.head = 0
    q.size -= 1
    cdef Handle h = <Handle>p
    Py_DECREF(h)       # drop the queue's reference; `h` holds its own now
    _handle_leaves_queue(h)
    return h


cdef void rq_clear(ReadyQueue* q):
    # Detach every item first, then release: a __del__ run by a release may
    # call back into the loop, which must see an empty, consistent queue.
    cdef Py_ssize_t n = q.size, head = q.head, cap = q.cap, i
    cdef PyObject** old = q.items
    if old == NULL:
        return
    q.items = <PyObject**>PyMem_Malloc(sizeof(PyObject*) * 16)
    q.cap = 16
    q.head = 0
    q.size = 0
    cdef Handle h
    for i in range(n):
        h = <Handle>old[(head + i) % cap]
        Py_DECREF(h)
        _handle_leaves_queue(h)
        h = None
    PyMem_Free(old)


cdef void rq_free(ReadyQueue* q):
    rq_clear(q)
    PyMem_Free(q.items)
    q.items = NULL


cdef struct TimerEntry:
    double when
    unsigned long long seq
    PyObject* handle


cdef struct TimerHeap:
    TimerEntry* items
    Py_ssize_t size
    Py_ssize_t cap
    unsigned long long seq


cdef inline bint _te_less(TimerEntry* a, TimerEntry* b) noexcept:
    return a.when < b.when or (a.when == b.when and a.seq < b.seq)


cdef int th_init(TimerHeap* h) except -1:
    h.cap = 256
    h.items = <TimerEntry*>PyMem_Malloc(sizeof(TimerEntry) * h.cap)
    if h.items == NULL:
        raise MemoryError()
    h.size = 0
    h.seq = 0
    return 0


cdef void _th_sift_up(TimerHeap* h, Py_ssize_t pos) noexcept:
    cdef TimerEntry item = h.items[pos]
    cdef Py_ssize_t parent
    while pos > 0:
        parent = (pos - 1) >> 1
        if _te_less(&item, &h.items[parent]):
            h.items[pos] = h.items[parent]
            pos = parent
        else:
            break
    h.items[pos] = item


cdef void _th_sift_down(TimerHeap* h, Py_ssize_t pos) noexcept:
    cdef Py_ssize_t n = h.size
    cdef TimerEntry item = h.items[pos]
    cdef Py_ssize_t child
    while True:
        child = 2 * pos + 1
        if child >= n:
            break
        if child + 1 < n and _te_less(&h.items[child + 1], &h.items[child]):
            child += 1
        if _te_less(&h.items[child], &item):
            h.items[pos] = h.items[child]
            pos = child
        else:
            break
    h.items[pos] = item


cdef inline int th_push(TimerHeap* h, double when, object handle) except -1:
    cdef TimerEntry* items
    if h.size == h.cap:
        items = <TimerEntry*>PyMem_Realloc(h.items, sizeof(TimerEntry) * h.cap * 2)
        if items == NULL:
            raise MemoryError()
        h.items = items
        h.cap *= 2
    Py_INCREF(handle)
    h.items[h.size].when = when
    h.items[h.size].seq = h.seq
    h.items[h.size].handle = <PyObject*>handle
    h.seq += 1
    h.size += 1
    _th_sift_up(h, h.size - 1)
    return 0


cdef inline TimerHandle th_pop(TimerHeap* h):
    # Caller checks h.size > 0.  The heap's reference moves to the result.
    cdef PyObject* p = h.items[0].handle
    h.size -= 1
    if h.size > 0:
        h.items[0] = h.items[h.size]
        _th_sift_down(h, 0)
    cdef TimerHandle t = <TimerHandle>p
    Py_DECREF(t)
    _handle_leaves_queue(t)
    return t


cdef int th_drop_cancelled(TimerHeap* h) except -1:
    # Rebuild without cancelled entries (asyncio's "too many cancelled" path).
    cdef Py_ssize_t i, j = 0, n = h.size
    cdef TimerHandle t
    cdef list dropped = []
    for i in range(n):
        t = <TimerHandle>h.items[i].handle
        if t._cancelled:
            t._scheduled = False
            dropped.append(t)
            Py_DECREF(t)
            _handle_leaves_queue(t)
        else:
            h.items[j] = h.items[i]
            j += 1
    h.size = j
    for i in range(j // 2 - 1, -1, -1):
        _th_sift_down(h, i)
    return 0   # `dropped` releases the handles here, heap already consistent


cdef void th_clear(TimerHeap* h):
    cdef Py_ssize_t n = h.size, i
    cdef TimerEntry* old = h.items
    if old == NULL:
        return
    h.items = <TimerEntry*>PyMem_Malloc(sizeof(TimerEntry) * 16)
    h.cap = 16
    h.size = 0
    cdef TimerHandle t
    for i in range(n):
        t = <TimerHandle>old[i].handle
        t._scheduled = False
        Py_DECREF(t)
        _handle_leaves_queue(t)
        t = None
    PyMem_Free(old)


cdef void th_free(TimerHeap* h):
    th_clear(h)
    PyMem_Free(h.items)
    h.items = NULL
