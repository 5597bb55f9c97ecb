/* The extension is built for CPython's limited API (Py_LIMITED_API = 3.11, one abi3 wheel for every
 * CPython from 3.11 on; setup.py defines it). The few conveniences of the full API it uses, spelled
 * with limited-API functions of the same meaning: borrowed references stay borrowed. */
#ifndef TRIT_LIMITED_API_H
#define TRIT_LIMITED_API_H
#ifdef Py_LIMITED_API
#include <stdlib.h>

/* PySequence_Fast gives a list or a tuple (abstract.h defines these even under the limited API, with
 * macros that are not in it) */
#undef PySequence_Fast_GET_SIZE
#undef PySequence_Fast_GET_ITEM
#define PySequence_Fast_GET_SIZE(o) (PyList_Check(o) ? PyList_Size(o) : PyTuple_Size(o))
#define PySequence_Fast_GET_ITEM(o, i) (PyList_Check(o) ? PyList_GetItem(o, i) : PyTuple_GetItem(o, i))
#ifndef PyList_SET_ITEM
#define PyList_SET_ITEM(l, i, v) ((void)PyList_SetItem(l, i, v))
#endif
#ifndef PyBytes_AS_STRING
#define PyBytes_AS_STRING(o) PyBytes_AsString(o)
#endif
#ifndef PyByteArray_AS_STRING
#define PyByteArray_AS_STRING(o) PyByteArray_AsString(o)
#endif
/* PyUnicode_AsUTF8 joins the limited API in 3.13 */
#if Py_LIMITED_API < 0x030D0000
#define PyUnicode_AsUTF8(o) PyUnicode_AsUTF8AndSize(o, NULL)
/* the raw allocators too: they are malloc's family without the GIL */
#define PyMem_RawCalloc calloc
#define PyMem_RawRealloc realloc
#define PyMem_RawFree free
#endif
#endif

/* A TypeError "<before><the type name of o><after>" (the limited API has no tp_name); NULL. */
static PyObject *type_error_got(const char *before, PyObject *o, const char *after) {
#if PY_VERSION_HEX >= 0x030B0000
    PyObject *name = PyType_GetName(Py_TYPE(o));
    if (name) { PyErr_Format(PyExc_TypeError, "%s%U%s", before, name, after); Py_DECREF(name); }
#else
    PyErr_Format(PyExc_TypeError, "%s%.80s%s", before, Py_TYPE(o)->tp_name, after);
#endif
    return NULL;
}
#endif
