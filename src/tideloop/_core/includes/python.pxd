# Declarations only: the CPython C-API pieces the core calls directly.
# (Cython's own cpython/*.pxd lack a few of these or declare them differently
# across Cython versions; keeping them here pins exactly what we rely on.)

cdef extern from "Python.h":
    object PyContext_CopyCurrent()
    int PyContext_Enter(object ctx) except -1
    int PyContext_Exit(object ctx) except -1
    int PyErr_CheckSignals() except -1
    unsigned long PyThread_get_thread_ident()
    ctypedef struct PyObject
    void Py_INCREF(object)
    void Py_DECREF(object)
    void* PyMem_Malloc(size_t n)
    void* PyMem_Realloc(void* p, size_t n)
    void PyMem_Free(void* p)
    object PyObject_Call(object callable, object args, object kwargs)
    int PyObject_GC_IsTracked(object)
    void PyObject_GC_Track(void*)
    void PyObject_GC_UnTrack(void*)
    Py_ssize_t Py_REFCNT(object)


cdef extern from *:
    """
    /* Warming the cache for the poll phase (Loop._run_once): load memory the
       next ready fds will touch while this one's syscalls run, so that the
       misses of several objects overlap instead of coming one after another.
       A read whose value is dropped: __builtin_prefetch alone was measured to
       do nothing for objects on pages out of the TLB (1,000 connections). */
    static inline void tideloop_touch(const void *p) {
        (void)*(volatile const char *)p;
    }
    /* An object with a GC header and a managed __dict__ before it. */
    static inline void tideloop_warm_with_preheader(PyObject *o) {
        __builtin_prefetch((const char *)o - 32);
        tideloop_touch(o);
    }
    /* Where an instance's __dict__ values live (3.11/3.12: an array whose
       pointer sits in the pre-header; 3.13: inline, after the object's own
       fields).  Call once the object's own lines are cached. */
    static inline void tideloop_warm_instance_values(PyObject *o) {
    #if PY_VERSION_HEX >= 0x030d0000
        __builtin_prefetch((const char *)o + 64);
    #elif PY_VERSION_HEX >= 0x030c0000
        uintptr_t p;
        if (PyType_HasFeature(Py_TYPE(o), Py_TPFLAGS_MANAGED_DICT)) {
            p = ((uintptr_t *)o)[-3] & ~(uintptr_t)1;
            if (p)
                tideloop_touch((const void *)p);
        }
    #elif PY_VERSION_HEX >= 0x030b0000
        void *p;
        if (PyType_HasFeature(Py_TYPE(o), Py_TPFLAGS_MANAGED_DICT)) {
            p = ((void **)o)[-4];
            if (!p)
                p = ((void **)o)[-3];
            if (p)
                tideloop_touch(p);
        }
    #endif
    }
    /* The fd table's entry for fd, every line of it.  Only within the
       object: a read past its end could be past the end of an arena. */
    static inline void tideloop_warm_entry(PyObject *table, int fd) {
        PyObject *o;
        Py_ssize_t size, off;
        if (fd < 0 || fd >= PyList_GET_SIZE(table))
            return;
        o = PyList_GET_ITEM(table, fd);
        size = Py_TYPE(o)->tp_basicsize;   /* waits for the first line */
        for (off = 64; off < size; off += 64)
            tideloop_touch((const char *)o + off);
    }
    /* The byte offset of the slot a member descriptor (a __slots__ name)
       reads, or -1 for anything else. */
    #include "structmember.h"
    static inline Py_ssize_t tideloop_slot_offset(PyObject *descr) {
        if (Py_TYPE(descr) != &PyMemberDescr_Type)
            return -1;
        return ((PyMemberDescrObject *)descr)->d_member->offset;
    }
    /* The object in the slot at `offset` of o (borrowed; NULL if unset). */
    static inline PyObject *tideloop_slot_get(PyObject *o, Py_ssize_t offset) {
        return *(PyObject **)((char *)o + offset);
    }
    """
    void tideloop_touch(const void* p) noexcept nogil
    PyObject* tideloop_slot_get(PyObject* o, Py_ssize_t offset) noexcept
    Py_ssize_t tideloop_slot_offset(PyObject* descr) noexcept
    void tideloop_warm_with_preheader(PyObject* o) noexcept nogil
    void tideloop_warm_entry(PyObject* table, int fd) noexcept nogil
    void tideloop_warm_instance_values(PyObject* o) noexcept nogil
