"""Where the hard_faces dev set's photos come from: public repository snapshots and the files used in each.

Every snapshot is read from MIRROR/<owner>+<name>/repo (the layout `fetch github:owner/name` leaves).
LFW and the sets cut from it (FDDB, CALFW, CPLFW, SLLFW) are never used: files named like LFW's
(Firstname_Lastname_0001.jpg) are skipped even in the repositories used, and a news photo that may be one
of FDDB's (Ultra-Light's imgs/13.jpg, 450x344, the Yahoo News style LFW and FDDB were cut from) is left out.
"""

from __future__ import annotations

from dataclasses import dataclass

DEV_ONLY = "development use on this machine only, never redistributed"


@dataclass(frozen=True)
class Repo:
    name: str  # owner/name on GitHub
    short: str  # the prefix of its files' names in the dev set
    licence: str

    @property
    def folder(self) -> str:
        return self.name.replace("/", "+", 1)


CELEBA = Repo(
    "matush97/faceRecognition",
    "celeba",
    "CelebA: non-commercial research only (CUHK MMLab agreement); photos (c) their owners; " + DEV_ONLY,
)
SCENES = Repo(
    "afroozsheikh/Intel-Image-Classifier",
    "intel",
    "Intel Image Classification (Analytics Vidhya; Kaggle puneet6060): no licence stated in the snapshot; " + DEV_ONLY,
)
ULTRA_LIGHT = Repo(
    "Linzaer/Ultra-Light-Fast-Generic-Face-Detector-1MB",
    "ultralight",
    "test photo committed in the repository (repository: MIT); the photo's rights are its owners'; " + DEV_ONLY,
)
DLIB = Repo(
    "davisking/dlib",
    "dlib",
    "dlib example image (repository: Boost Software License 1.0; examples/faces/20*.jpg are PASCAL VOC 2011 "
    "photos, Flickr, under the PASCAL VOC terms); the photo's rights are its owners'; " + DEV_ONLY,
)
INSIGHTFACE = Repo(
    "deepinsight/insightface",
    "insightface",
    "insightface demo/test image (code MIT; its data for non-commercial research); the photo's rights are its "
    "owners'; " + DEV_ONLY,
)
DEEPFACE = Repo(
    "serengil/deepface",
    "deepface",
    "deepface unit-test photo (repository: MIT); the photo's rights are its owners'; " + DEV_ONLY,
)
TRAVERSY = Repo(
    "bradtraversy/face_recognition_examples",
    "traversy",
    "example photo; no licence stated in the repository; the photo's rights are its owners'; " + DEV_ONLY,
)
FACEAISHARP = Repo(
    "georg-jung/FaceAiSharp",
    "faceaisharp",
    "example photo (repository: MIT); the photo's rights are its owners'; " + DEV_ONLY,
)
OLD_PHOTOS = Repo(
    "microsoft/Bringing-Old-Photos-Back-to-Life",
    "oldphotos",
    "test image of the old-photo restoration project (repository: MIT); the photo's rights are its owners'; "
    + DEV_ONLY,
)
PETS = Repo(
    "chanakya2734/Image-classification-using-CNN",
    "pets",
    "Kaggle Dogs vs. Cats (Asirra: Microsoft Research and Petfinder.com), test split as committed; no licence "
    "stated in the repository; " + DEV_ONLY,
)

ALL_REPOS = (CELEBA, SCENES, ULTRA_LIGHT, DLIB, INSIGHTFACE, DEEPFACE, TRAVERSY, FACEAISHARP, OLD_PHOTOS, PETS)

CELEBA_FOLDER = "Celeb/"  # NNNNNN.jpg, CelebA's in-the-wild photos
SCENE_CLASSES = ("forest", "glacier", "mountain")  # natural scenes: people are rare there
# ... but not absent: scenes seen (hand check of the default seed's choice) with people in them
SCENE_EXCLUDED = frozenset(
    {
        "train/glacier/8218.jpg",  # a climber, face in profile
        "train/glacier/2608.jpg",  # a snowboarder in the air
        "train/forest/9814.jpg",  # hikers
        "train/forest/9871.jpg",  # a small figure
        "train/mountain/5719.jpg",  # skiers
    }
)

# Group photos. Ultra-Light's imgs/: 1-3.jpg are the test suite's crowd photos (../shared/testdata/crowd),
# kept apart; 13.jpg is left out (see the module's docstring), 22.jpg is a rendered (CG) poster. dlib's
# PASCAL photos carry dlib's own box annotations (training.xml, testing.xml).
CROWD: tuple[tuple[Repo, str], ...] = (
    *((ULTRA_LIGHT, f"imgs/{n}.jpg") for n in (5, 6, 8, 9, 10, 11, 12, 15, 16, 17, 18, 19, 20, 21, 23, 24, 25, 26, 27)),
    *(
        (DLIB, f"examples/faces/{n}.jpg")
        for n in (
            "2007_007763",
            "2008_001009",
            "2008_001322",
            "2008_002079",
            "2008_002470",
            "2008_002506",
            "2008_004176",
            "2008_007676",
            "2009_004587",
            "bald_guys",
        )
    ),
    (INSIGHTFACE, "python-package/insightface/data/images/t1.jpg"),
    (DEEPFACE, "tests/unit/dataset/selfie-many-people.jpg"),
    (TRAVERSY, "img/groups/team1.jpg"),
    (TRAVERSY, "img/groups/team2.jpg"),
    (TRAVERSY, "img/groups/bill-steve-elon.jpg"),
    (FACEAISHARP, "examples/group_10mpx.jpg"),
    (FACEAISHARP, "examples/obama_family.jpg"),
)
DLIB_BOXES = ("examples/faces/training.xml", "examples/faces/testing.xml")

# Real old photos (scanned prints, some hand-coloured or scratched): gray_scan, teacher-boxed.
OLD: tuple[tuple[Repo, str], ...] = tuple(
    (OLD_PHOTOS, f"test_images/{folder}/{n}.png")
    for folder, names in (("old", "abcdefgh"), ("old_w_scratch", "abcd"))
    for n in names
)

# Real head-pose photos (turned, tilted, raised, lowered): profile_tilt, teacher-boxed.
POSE: tuple[tuple[Repo, str, str], ...] = tuple(
    (INSIGHTFACE, f"cpp-package/inspireface/test_res/data/pose/{name}", tag)
    for name, tag in (
        ("left_face.jpeg", "profile"),
        ("right_face.png", "profile"),
        ("left_wryneck.png", "tilt"),
        ("right_wryneck.png", "tilt"),
        ("rise_face.jpeg", "pitch"),
        ("lower_face.jpeg", "pitch"),
    )
)

# Face-free photos besides the scenes: animals (animal faces are hard negatives) and a landscape.
NOFACE_FILES: tuple[tuple[Repo, str, str], ...] = (
    (DLIB, "examples/faces/dogs.jpg", "animal"),
    (DLIB, "dlib/test/ffmpeg_data/dog.jpg", "animal"),
    (DLIB, "dlib/test/ffmpeg_data/eagle.jpg", "animal"),
    (DLIB, "dlib/test/ffmpeg_data/giraffe.jpg", "animal"),
    (DLIB, "dlib/test/ffmpeg_data/horses.jpg", "animal"),
    (INSIGHTFACE, "cpp-package/inspireface/test_res/data/bulk/view.jpg", "scene"),
)
PET_FOLDERS = ("dataset/test_set/cats/", "dataset/test_set/dogs/")
# Pets are chosen by a fixed hash (not the seed) so that this hand check holds: these show a person's face
# (cat.4190; dog.4650 and dog.4949 at the edge) or a toy's cartoon face (dog.4623). Hands and bodies stay.
PET_EXCLUDED = frozenset({"cat.4190.jpg", "dog.4650.jpg", "dog.4949.jpg", "dog.4623.jpg"})
