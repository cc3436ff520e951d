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
