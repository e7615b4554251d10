// Compiles the bodies shared by every layer (assertions, error category) once.
#include <raftkv/impl/assert.ipp>
#include <raftkv/impl/error.ipp>
