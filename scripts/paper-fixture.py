#!/usr/bin/python3
"""Writes a small file in the layout of the authors' released .npy files (AmazonFashion6ImgPartitioned.npy
and the others), for Atelier's tests and benches; needs Debian's python3-numpy and python3-pil.

The layout: np.save of a 1-D object array [user_train, user_validation, user_test, Item, usernum, itemnum]
written under Python 2. Python 2's pickle is imitated here: protocol 2, the .npy header version 1.0, and
every Python 2 str (dict keys, JPEG bytes, dtype codes) as SHORT_BINSTRING / BINSTRING (Python 3 would
write bytes as a call to _codecs.encode, and np.save would use protocol 3).

Item i's photo is a flat colour, colour_of(i), so a reader's pixels can be checked; with --with-c each
item carries 'c', a float64 one-hot of length 6 (category i % 6); user u's reviews are drawn from a
seeded generator, one for validation and one for test.
"""
import argparse
import io
import pickle
import random
import struct

import numpy as np
from numpy.lib import format as npformat
from PIL import Image


def colour_of(i):
    return ((i * 37 + 11) % 256, (i * 91 + 53) % 256, (i * 13 + 101) % 256)


class Python2Pickler(pickle._Pickler):
    """Protocol 2 as Python 2 wrote it: bytes and ASCII str as (SHORT_)BINSTRING."""

    dispatch = dict(pickle._Pickler.dispatch)
    bad_opcode_for = None  # a str whose pickling writes an opcode outside protocol 2

    def save_py2_str(self, obj):
        if isinstance(obj, str):
            if obj == Python2Pickler.bad_opcode_for:
                data = obj.encode('utf8')
                self.write(b'\x8c' + bytes([len(data)]) + data)  # SHORT_BINUNICODE: protocol 4
                self.memoize(obj)
                return
            if not obj.isascii():
                return pickle._Pickler.save_str(self, obj)  # a Python 2 unicode
            obj_bytes = obj.encode('ascii')
        else:
            obj_bytes = obj
        n = len(obj_bytes)
        if n < 256:
            self.write(pickle.SHORT_BINSTRING + bytes([n]) + obj_bytes)
        else:
            self.write(pickle.BINSTRING + struct.pack('<i', n) + obj_bytes)
        self.memoize(obj)

    dispatch[bytes] = save_py2_str
    dispatch[str] = save_py2_str


def jpeg_of(i, size, pad_to):
    img = Image.new('RGB', (size, size), colour_of(i))
    buf = io.BytesIO()
    img.save(buf, format='JPEG', quality=95)
    data = buf.getvalue()
    if pad_to and len(data) < pad_to:
        # comment segments (0xFFFE) after SOI: a valid JPEG of the wanted size, unique to the item
        body = bytearray()
        left = pad_to - len(data)
        k = 0
        while left > 4:
            n = min(left - 4, 65000)
            seg = (('item %d segment %d ' % (i, k)).encode('ascii') * (n // 16 + 1))[:n]
            body += b'\xff\xfe' + struct.pack('>H', n + 2) + seg
            left -= n + 4
            k += 1
        data = data[:2] + bytes(body) + data[2:]
    return data


def main():
    p = argparse.ArgumentParser()
    p.add_argument('out')
    p.add_argument('--users', type=int, default=12)
    p.add_argument('--items', type=int, default=20)
    p.add_argument('--per-user', type=int, default=5, help='reviews per user (train + 2)')
    p.add_argument('--with-c', action='store_true', help="items carry 'c' (AmazonFashion's categories)")
    p.add_argument('--item-container', choices=['list', 'dict'], default='list')
    p.add_argument('--image-size', type=int, default=16)
    p.add_argument('--jpeg-bytes', type=int, default=0, help='pad every JPEG to about this many bytes')
    p.add_argument('--seed', type=int, default=1)
    p.add_argument('--bad', choices=['none', 'productid', 'image', 'opcode', 'dup-asin', 'empty-asin', 'esc-asin', 'nan-c', 'zero-c', 'long-c'], default='none')
    a = p.parse_args()

    rng = random.Random(a.seed)
    user_train, user_validation, user_test = {}, {}, {}
    for u in range(a.users):
        chosen = rng.sample(range(a.items), min(a.per_user, a.items))
        reviews = [{'productid': i, 'reviewerID': 'A%05dX' % u, 'rating': float(1 + (u + i) % 5), 'unixReviewTime': 1300000000 + 86400 * (u * 7 + k)}
                   for k, i in enumerate(chosen)]
        if u == 0:
            reviews[0]['productid'] = np.int64(reviews[0]['productid'])  # a numpy scalar, as some files hold
        user_train[u] = reviews[:-2]
        user_validation[u] = [reviews[-2]]
        user_test[u] = [reviews[-1]]
    if a.bad == 'productid':
        user_train[a.users - 1][0]['productid'] = a.items  # one past the last item

    bad_image = user_train[1][0]['productid'] if a.bad == 'image' else -1  # a photo someone bought
    items = []
    for i in range(a.items):
        it = {'imgs': b'not a jpeg at all' if i == bad_image else jpeg_of(i, a.image_size, a.jpeg_bytes),
              'asin': 'B%08d' % i,
              'title': u'Item %d \u00e9t\u00e9' % i if i % 3 == 0 else 'Item %d' % i,
              'categories': [['Clothing, Shoes & Jewelry', 'Women' if i % 2 else 'Men']]}
        if a.with_c:
            it['c'] = np.eye(6, dtype=np.float64)[i % 6]
        items.append(it)
    if a.bad == 'dup-asin':
        items[7]['asin'] = items[3]['asin']
    if a.bad == 'empty-asin':
        items[5]['asin'] = ''
    if a.bad == 'esc-asin':
        items[4]['asin'] = 'B\x1b[31mred\x00'
    if a.bad == 'nan-c':
        items[2]['c'] = np.full(6, np.nan)
    if a.bad == 'zero-c':
        items[2]['c'] = np.zeros(6)
    if a.bad == 'long-c':
        items[2]['c'] = np.eye(1000, dtype=np.float64)[3]
    if a.bad == 'opcode':
        Python2Pickler.bad_opcode_for = items[2]['title']
    item = items if a.item_container == 'list' else {i: it for i, it in enumerate(items)}

    arr = np.empty(6, dtype=object)
    arr[:] = [user_train, user_validation, user_test, item, a.users, a.items]
    with open(a.out, 'wb') as f:
        npformat.write_array_header_1_0(f, {'descr': '|O', 'fortran_order': False, 'shape': (6,)})
        Python2Pickler(f, protocol=2).dump(arr)


if __name__ == '__main__':
    main()
