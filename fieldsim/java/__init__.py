"""Java source of the JavaRosa filler (a package only so that setuptools ships the .java file)."""
