"""The extension module (setuptools still calls ext-modules in pyproject.toml experimental)."""

from setuptools import Extension, setup

setup(ext_modules=[Extension("pgaudit_linecodec", ["pgaudit_linecodec.c"], extra_compile_args=["-Wall", "-Wextra"])])
