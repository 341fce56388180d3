// SPDX-License-Identifier: MIT
// core/human_format: printable(), the one sanitizer for text from data (labels, file names,
// messages quoting them) on a terminal or in a log (issue 17).
#include "human_format.h"

#include <QTest>

#include <string>

using astpeft::core::printable;

class TestHumanFormat : public QObject
{
    Q_OBJECT

private Q_SLOTS:
    void printableEscapesControls_data()
    {
        QTest::addColumn<QByteArray>("text");
        QTest::addColumn<QByteArray>("expected");
        QTest::addRow("plain") << QByteArray("dog bark_1.wav") << QByteArray("dog bark_1.wav");
        QTest::addRow("empty") << QByteArray() << QByteArray();
        QTest::addRow("UTF-8 kept") << QByteArray("caf\xc3\xa9 \xe7\x8a\xac \xf0\x9f\x90\xb6")
                                    << QByteArray("caf\xc3\xa9 \xe7\x8a\xac \xf0\x9f\x90\xb6");
        QTest::addRow("colour escape")
            << QByteArray("\x1b[31mred\x1b[0m") << QByteArray("\\x1b[31mred\\x1b[0m");
        QTest::addRow("clear screen, bell")
            << QByteArray("a\x1b[2J\x07") << QByteArray("a\\x1b[2J\\x07");
        QTest::addRow("line breaks and tab")
            << QByteArray("one\ntwo\r\tthree") << QByteArray("one\\ntwo\\r\\tthree");
        QTest::addRow("NUL") << QByteArray("a\0b", 3) << QByteArray("a\\x00b");
        QTest::addRow("DEL") << QByteArray("a\x7f") << QByteArray("a\\x7f");
        QTest::addRow("C1 CSI") << QByteArray("a\xc2\x9b"
                                              "31m")
                                << QByteArray("a\\u009b31m");
        QTest::addRow("invalid UTF-8") << QByteArray("a\xff\xc3") << QByteArray("a\\xff\\xc3");
        QTest::addRow("overlong slash") << QByteArray("\xc0\xaf") << QByteArray("\\xc0\\xaf");
        QTest::addRow("surrogate") << QByteArray("\xed\xa0\x80") << QByteArray("\\xed\\xa0\\x80");
        QTest::addRow("backslash kept") << QByteArray("a\\b") << QByteArray("a\\b");
    }

    void printableEscapesControls()
    {
        QFETCH(QByteArray, text);
        QFETCH(QByteArray, expected);
        const std::string out = printable(std::string(text.constData(), std::size_t(text.size())));
        QCOMPARE(QByteArray::fromStdString(out), expected);
    }
};

QTEST_GUILESS_MAIN(TestHumanFormat)
#include "tst_human_format.moc"
