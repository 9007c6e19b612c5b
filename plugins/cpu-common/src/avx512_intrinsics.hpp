// <immintrin.h> for the AVX-512 translation units. GCC 12.2's AVX-512 headers trip
// -Wuninitialized in their own _mm*_undefined_* idiom (GCC bug 105593, fixed in 12.3); this
// silences it for the header's lines only, so it must be the translation unit's first inclusion
// of immintrin.h.
#pragma once

#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#include <immintrin.h>
#pragma GCC diagnostic pop
